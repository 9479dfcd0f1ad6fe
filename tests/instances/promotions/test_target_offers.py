"""Target offers for many features: a fixed number of queries, the same offers as one by one."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from branching.models import Feature
from instances.models import FeaturePresence
from instances.promotions.routing import common_targets, route_to, targets_for

pytestmark = pytest.mark.django_db


def held_by(pipeline, developer, count: int, *, where=("alice", "integration")) -> list[Feature]:
    """`count` features started from Dev Alice and present in each instance of `where`."""
    start = Feature.objects.count()
    features = Feature.objects.bulk_create(
        Feature(
            repository=pipeline["repo"],
            key=f"RM-{start + n}",
            title=f"Feature {start + n}",
            owner=developer,
            branch=f"feature/RM-{start + n}",
            started_from=pipeline["alice"],
        )
        for n in range(count)
    )
    FeaturePresence.objects.bulk_create(
        FeaturePresence(feature=f, instance=pipeline[name], commit="a" * 40)
        for f in features
        for name in where
    )
    return list(
        Feature.objects.filter(pk__in=[f.pk for f in features]).select_related("repository")
    )


def queries(action) -> int:
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured)


def test_offering_targets_costs_the_same_for_5_or_40_features(pipeline, developer):
    few = held_by(pipeline, developer, 5)
    many = held_by(pipeline, developer, 40)
    assert queries(lambda: common_targets(few)) == queries(lambda: common_targets(many)) <= 3


def test_the_offers_are_what_each_feature_and_route_to_say(pipeline, developer):
    features = held_by(pipeline, developer, 3)
    offered = common_targets(features)
    assert [(i.name, r.direction, r.source and r.source.name) for i, r in offered] == [
        ("Dev Alice", "enter", None),
        ("QA", "forward", "Integration"),
        ("Dev Bob", "back", "Integration"),
        ("Scratch CI", "back", "Integration"),
    ]
    for instance, route in offered:
        assert route == route_to(features, instance)
    # Only what every one of them can reach: one more feature, held by Dev Bob alone.
    (odd,) = held_by(pipeline, developer, 1, where=("bob",))
    assert [i.name for i, _ in targets_for(odd)] == ["Dev Alice", "Integration"]
    together = common_targets([*features, odd])
    assert [i.name for i, _ in together] == ["Dev Alice"]


def test_the_request_page_for_many_features_costs_the_same(client_for, pipeline, developer):
    client = client_for("developer")
    url = reverse("promotion_create")

    def page(features: list[Feature]) -> int:
        query = "&".join(f"feature={f.key}" for f in features)
        client.get(f"{url}?{query}")  # warm (sessions, permissions)

        def fetch() -> None:
            response = client.get(f"{url}?{query}")
            assert response.status_code == 200
            assert "Promote to QA (from Integration)" in response.content.decode()

        return queries(fetch)

    assert page(held_by(pipeline, developer, 5)) == page(held_by(pipeline, developer, 40))
