"""What is happening at each instance right now, for the dashboard: a fixed number of queries.

The diagram's layout depends only on the hierarchy; these states are written into reserved
places of the laid-out SVG on every render (`diagram.overlay`), so a promotion starting or
failing never makes Graphviz lay the pipeline out again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import OuterRef, Subquery
from django.urls import reverse

from instances.environments.presence import active_counts, pending_counts
from instances.models import Instance, Promotion, PromotionStatus, Step

# The step a running promotion is in: the one after the last it completed.
DOING = {
    Step.NONE: "checking",
    Step.CHECKED: "branching",
    Step.TEMP_BRANCH: "merging",
    Step.MERGED: "deploying",
    Step.DEPLOYED: "moving the branch",
    Step.TARGET_MOVED: "cleaning up",
    Step.CLEANED: "recording",
    Step.RECORDED: "finishing",
}

PROBLEMS = frozenset({PromotionStatus.FAILED, PromotionStatus.CONFLICTED, PromotionStatus.ERRORED})


@dataclass(frozen=True)
class Ref:
    """A promotion as the dashboard links to it."""

    pk: int
    status: str
    step: int = 0

    @property
    def url(self) -> str:
        return reverse("promotion_detail", args=[self.pk])

    @property
    def status_label(self) -> str:
        return PromotionStatus(self.status).label.lower()


@dataclass
class NodeState:
    running: Ref | None = None
    queued: int = 0
    awaiting_approval: int = 0
    problem: Ref | None = None  # the latest finished promotion into it, when it did not succeed
    ready_up: int = 0  # features here that its parent lacks
    back: int = 0  # features its parent has and it lacks
    frozen: str = ""  # "❄ frozen" or "⏸ outside its window" while promotions into it wait

    @property
    def activity(self) -> str:
        """ "▶ #12 merging · 2 queued · 1 awaiting approval", or ""."""
        parts = []
        if self.running:
            parts.append(f"▶ #{self.running.pk} {DOING.get(Step(self.running.step), 'running')}")
        if self.queued:
            parts.append(f"{self.queued} queued")
        if self.awaiting_approval:
            parts.append(f"{self.awaiting_approval} awaiting approval")
        return " · ".join(parts)

    @property
    def attention(self) -> str:
        """ "✖ #9 conflicted · 3 to back-promote", or ""."""
        parts = []
        if self.frozen:
            parts.append(self.frozen)
        if self.problem:
            parts.append(f"✖ #{self.problem.pk} {self.problem.status_label}")
        if self.back:
            parts.append(f"{self.back} to back-promote")
        return " · ".join(parts)

    @property
    def classes(self) -> str:
        """CSS classes for the node: its border says what needs a look."""
        names = []
        if self.running:
            names.append("state-running")
        if self.awaiting_approval:
            names.append("state-approval")
        if self.problem:
            names.append(f"state-{self.problem.status}")
        if self.frozen:
            names.append("state-frozen")
        return " ".join(names)


@dataclass
class PipelineStates:
    nodes: dict[int, NodeState] = field(default_factory=dict)

    def of(self, instance_id: int) -> NodeState:
        return self.nodes.get(instance_id) or NodeState()

    def of_instance(self, instance_id: int) -> NodeState:
        """The state of an instance, created when it has none yet (to set what others know)."""
        return self.nodes.setdefault(instance_id, NodeState())

    @property
    def problems(self) -> list[tuple[int, Ref]]:
        return [(pk, s.problem) for pk, s in self.nodes.items() if s.problem]

    @property
    def running(self) -> list[tuple[int, Ref]]:
        return [(pk, s.running) for pk, s in self.nodes.items() if s.running]


def pipeline_states(instance_ids: Iterable[int]) -> PipelineStates:
    """The state of every instance in `instance_ids`: five queries whatever their number."""
    ids = list(instance_ids)
    states = PipelineStates({pk: NodeState() for pk in ids})
    ready_up, back = pending_counts()
    for pk, n in ready_up.items():
        if pk in states.nodes:
            states.nodes[pk].ready_up = n
    for pk, n in back.items():
        if pk in states.nodes:
            states.nodes[pk].back = n
    for pk, counts in active_counts(ids).items():
        states.nodes[pk].queued = counts.get(PromotionStatus.QUEUED, 0)
        states.nodes[pk].awaiting_approval = counts.get(PromotionStatus.AWAITING_APPROVAL, 0)
    for pk, target, step in (
        Promotion.objects.filter(target_id__in=ids, status=PromotionStatus.RUNNING)
        .order_by("id")
        .values_list("pk", "target_id", "step")
    ):
        if states.nodes[target].running is None:
            states.nodes[target].running = Ref(pk, PromotionStatus.RUNNING, step)
    latest = Promotion.objects.filter(target=OuterRef("pk"), finished_at__isnull=False).order_by(
        "-finished_at", "-id"
    )
    for pk, last_id, last_status in (
        Instance.objects.filter(pk__in=ids)
        .annotate(
            last_id=Subquery(latest.values("pk")[:1]),
            last_status=Subquery(latest.values("status")[:1]),
        )
        .values_list("pk", "last_id", "last_status")
    ):
        if last_id is not None and last_status in PROBLEMS:
            states.nodes[pk].problem = Ref(last_id, last_status)
    return states
