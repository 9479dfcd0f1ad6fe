"""The pipeline dashboard: every repository's hierarchy at a glance."""

from collections import defaultdict

from django.http import HttpResponse
from django.shortcuts import render

from branching.models import Repository
from instances.environments.access import require_instance_perm
from instances.environments.diagram import PURPOSE_COLOURS, PipelineCounts, diagram_for
from instances.environments.presence import active_counts, pending_counts
from instances.models import Instance, Purpose
from releasemgr.http import AuthedRequest


def dashboard(request: AuthedRequest) -> HttpResponse:
    require_instance_perm(request, "view")
    # The same queries whatever the size of the pipeline: repositories, all instances, and
    # three for the counts (presences for what is ready, and unfinished promotions).
    repositories = list(Repository.objects.order_by("is_long_term", "name"))
    instances = list(Instance.objects.order_by("name"))
    by_id = {i.pk: i for i in instances}
    ready_up, back = pending_counts()
    counts = PipelineCounts(ready_up, back, active_counts(by_id))
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
                diagram_for(f"pipeline-{repository.pk}", repository.pk, own, by_id, counts),
            )
        )
    legend = [
        (str(p), Purpose(p).label, fill, border) for p, (fill, border) in PURPOSE_COLOURS.items()
    ]
    return render(
        request,
        "instances/environments/dashboard.html",
        {"pipelines": pipelines, "legend": legend, "instance_count": len(instances)},
    )
