"""What is happening at each instance right now, for the dashboard: a fixed number of queries.

The diagram's layout depends only on the hierarchy; these states are written into reserved
places of the laid-out SVG on every render (`diagram.overlay`), so a promotion starting or
failing never makes Graphviz lay the pipeline out again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, Exists, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse

from instances.environments.presence import active_counts, pending_counts
from instances.models import Instance, Promotion, PromotionFeature, PromotionStatus, Step

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
# A later promotion in one of these states has not taken over from a failed one.
NOT_TAKEN_OVER = frozenset({PromotionStatus.CANCELLED, PromotionStatus.REJECTED})


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
    problem: Ref | None = None  # the most recent unresolved failed or conflicted promotion
    problems: int = 0  # how many unresolved ones there are (see `unresolved_problems`)
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
            more = f" +{self.problems - 1} more" if self.problems > 1 else ""
            parts.append(f"✖ #{self.problem.pk} {self.problem.status_label}{more}")
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
    def problems(self) -> list[tuple[int, Ref, int]]:
        """(instance, its most recent unresolved problem, how many it has)."""
        return [(pk, s.problem, s.problems) for pk, s in self.nodes.items() if s.problem]

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
    unresolved = unresolved_problems().filter(target=OuterRef("pk"))
    latest = unresolved.order_by(F("finished_at").desc(nulls_last=True), "-id")
    count = unresolved.order_by().values("target").annotate(n=Count("id")).values("n")
    for pk, last_id, last_status, n in (
        Instance.objects.filter(pk__in=ids)
        .annotate(
            last_id=Subquery(latest.values("pk")[:1]),
            last_status=Subquery(latest.values("status")[:1]),
            problem_count=Coalesce(Subquery(count), 0),
        )
        .values_list("pk", "last_id", "last_status", "problem_count")
    ):
        if last_id is not None:
            states.nodes[pk].problem = Ref(last_id, last_status)
            states.nodes[pk].problems = n
    return states


def unresolved_problems() -> QuerySet[Promotion]:
    """Failed, conflicted and errored promotions nobody has dealt with yet.

    Retrying a promotion takes it out of these states by itself. Besides, a failed promotion
    is taken over by any later promotion into the same target that carries every one of its
    features (asked for again rather than retried), unless that one was cancelled or
    rejected: what happens to those features there is then the later one's story. A later
    promotion of other features does not hide it.
    """
    # Inside `later` (a promotion Q after the failed one, P): a feature of P that Q lacks.
    in_later = PromotionFeature.objects.filter(
        promotion=OuterRef(OuterRef("pk")), feature=OuterRef("feature")
    )
    missing = PromotionFeature.objects.filter(promotion=OuterRef(OuterRef("pk"))).filter(
        ~Exists(in_later)
    )
    later = (
        Promotion.objects.filter(target=OuterRef("target"), id__gt=OuterRef("id"))
        .exclude(status__in=NOT_TAKEN_OVER)
        .filter(~Exists(missing))
    )
    return Promotion.objects.filter(status__in=PROBLEMS).exclude(Exists(later))
