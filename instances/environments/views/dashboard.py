"""The pipeline dashboard: every repository's hierarchy at a glance, and what is happening in it.

The page polls itself with htmx. Each poll sends the fingerprint of what it shows; when nothing
changed the answer is just the poller again, asking to be called back later (the wait doubles
up to a minute), and when something did, the diagrams and the "needs attention" list come back
out of band and the poller starts again at its quickest.
"""

import hashlib
from collections import defaultdict

from django.http import HttpResponse
from django.shortcuts import render

from branching.models import Repository
from instances.environments import windows
from instances.environments.access import require_instance_perm
from instances.environments.diagram import PURPOSE_COLOURS, diagram_for
from instances.environments.live import pipeline_states
from instances.environments.permissions import visible_instances, visible_promotions
from instances.models import Instance, PromotionStatus, Purpose
from releasemgr.http import AuthedRequest

POLL_FIRST_SECONDS = 3
POLL_MAX_SECONDS = 60
ATTENTION_LIMIT = 20


def _wait(request: AuthedRequest) -> int:
    try:
        wait = int(request.GET.get("wait", POLL_FIRST_SECONDS))
    except ValueError:
        wait = POLL_FIRST_SECONDS
    return min(max(wait, POLL_FIRST_SECONDS), POLL_MAX_SECONDS)


def dashboard(request: AuthedRequest) -> HttpResponse:
    require_instance_perm(request, "view")
    # The same queries whatever the size of the pipeline: repositories, all instances, the
    # states (five), and the promotions awaiting approval.
    repositories = list(Repository.objects.order_by("is_long_term", "name"))
    instances = list(visible_instances(request.user, Instance.objects.order_by("name")))
    by_id = {i.pk: i for i in instances}
    states = pipeline_states(by_id)
    closures = windows.closures_of(instances)
    for pk, closure in closures.items():
        states.of_instance(pk).frozen = "❄ frozen" if closure.freeze else "⏸ outside its window"
    by_repository: dict[int, list[Instance]] = defaultdict(list)
    for instance in instances:
        by_repository[instance.repository_id].append(instance)
    pipelines = []
    for repository in repositories:
        own = by_repository.get(repository.pk, [])
        for instance in own:
            instance.repository = repository  # spare a query per node
        pipelines.append(
            (
                repository,
                diagram_for(f"pipeline-{repository.pk}", repository.pk, own, by_id, states),
            )
        )
    approvals = list(
        visible_promotions(request.user)
        .filter(status=PromotionStatus.AWAITING_APPROVAL)
        .select_related("target")
        .order_by("id")[:ATTENTION_LIMIT]
    )
    attention = {
        "approvals": approvals,
        "problems": [(by_id[pk], ref, n) for pk, ref, n in states.problems][:ATTENTION_LIMIT],
        "running": [(by_id[pk], ref) for pk, ref in states.running][:ATTENTION_LIMIT],
    }
    fingerprint = hashlib.sha256(
        repr(
            (
                [
                    (r.pk, d.svg, [(row.instance.pk, row.note) for row in d.rows])
                    for r, d in pipelines
                ],
                [(p.pk, p.target_id) for p in approvals],
            )
        ).encode()
    ).hexdigest()[:16]
    if request.htmx and request.GET.get("live"):
        unchanged = request.GET["live"] == fingerprint
        wait = min(_wait(request) * 2, POLL_MAX_SECONDS) if unchanged else POLL_FIRST_SECONDS
        return render(
            request,
            "instances/environments/dashboard.html#live",
            {
                "pipelines": pipelines,
                "attention": attention,
                "fingerprint": fingerprint,
                "wait": wait,
                "oob": not unchanged,
            },
        )
    legend = [
        (str(p), Purpose(p).label, fill, border) for p, (fill, border) in PURPOSE_COLOURS.items()
    ]
    closed = sorted(((by_id[pk], c) for pk, c in closures.items()), key=lambda r: r[0].name)
    return render(
        request,
        "instances/environments/dashboard.html",
        {
            "pipelines": pipelines,
            "legend": legend,
            "instance_count": len(instances),
            "attention": attention,
            "fingerprint": fingerprint,
            "wait": POLL_FIRST_SECONDS,
            "closed": closed,
        },
    )
