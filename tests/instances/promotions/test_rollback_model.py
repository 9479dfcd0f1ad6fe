"""A rollback promotion names the promotion it reverts, and has no source instance."""

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.urls import reverse

from instances.models import Direction, Promotion, PromotionStatus
from tests.instances.promotions.helpers import make_feature, make_promotion

pytestmark = pytest.mark.django_db


@pytest.fixture
def promoted(pipeline, developer):
    feature = make_feature(pipeline["repo"], "RM-1", developer)
    return make_promotion(
        pipeline["integration"],
        [feature],
        developer,
        source=pipeline["alice"],
        status=PromotionStatus.SUCCEEDED,
    )


def test_a_rollback_names_its_promotion_and_has_no_source(promoted, release_manager):
    rollback = Promotion.objects.create(
        target=promoted.target,
        direction=Direction.ROLLBACK,
        rollback_of=promoted,
        requested_by=release_manager,
    )
    assert list(promoted.rollbacks.all()) == [rollback]
    assert Promotion.objects.filter(direction=Direction.ROLLBACK).count() == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"direction": Direction.ROLLBACK},  # names no promotion
        {"direction": Direction.ROLLBACK, "source": "alice", "rollback_of": True},
        {"direction": Direction.FORWARD, "source": "alice", "rollback_of": True},
        {"direction": Direction.ENTER, "rollback_of": True},
    ],
)
def test_the_database_refuses_a_rollback_that_does_not_fit(
    fields, promoted, pipeline, release_manager
):
    fields = dict(fields)
    if fields.pop("rollback_of", False):
        fields["rollback_of"] = promoted
    if "source" in fields:
        fields["source"] = pipeline[fields["source"]]
    with pytest.raises(IntegrityError), transaction.atomic():
        Promotion.objects.create(target=promoted.target, requested_by=release_manager, **fields)


def test_a_rolled_back_promotion_cannot_be_deleted(promoted, release_manager):
    Promotion.objects.create(
        target=promoted.target,
        direction=Direction.ROLLBACK,
        rollback_of=promoted,
        requested_by=release_manager,
    )
    with pytest.raises(ProtectedError):
        promoted.delete()


def test_the_admin_shows_what_a_rollback_reverts(client_for, promoted, release_manager):
    rollback = Promotion.objects.create(
        target=promoted.target,
        direction=Direction.ROLLBACK,
        rollback_of=promoted,
        requested_by=release_manager,
    )
    body = (
        client_for("admin")
        .get(reverse("admin:instances_promotion_change", args=[rollback.pk]))
        .content.decode()
    )
    assert "Rollback of" in body and str(promoted) in body
