"""Recorded resolutions over the API: list, get and delete, for release managers only, with
the `manage` scope to forget, and hidden when made in a promotion into a hidden instance."""

from __future__ import annotations

import pytest

from instances.models import Capability, InstanceGrant, RecordedResolution
from releasemgr.models import AuditEvent
from tests.instances.promotions.test_resolution_views import POSTIMAGE, make_resolution

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ANSWERS = {"outsider": 403, "developer": 403, "release_manager": 200, "admin": 200}


@pytest.fixture
def recorded(pipeline, personas):
    return make_resolution(pipeline, personas["admin"])


@pytest.mark.parametrize("persona", list(ANSWERS))
def test_reads_answer_release_managers_only(api, token_for, pipeline, recorded, persona):
    token = token_for(persona, ["read"])
    base = f"/repositories/{pipeline['repo'].pk}/resolutions"
    listing = api("GET", base, token)
    detail = api("GET", f"{base}/{recorded.pk}", token)
    assert listing.status == ANSWERS[persona], listing.body[:300]
    assert detail.status == ANSWERS[persona], detail.body[:300]
    if ANSWERS[persona] == 200:
        [row] = listing.data["results"]
        assert row["path"] == "classes/A.cls" and row["conflict_id"] == "1f" * 20
        assert row["promotion_id"] == recorded.promotion_id
        assert detail.data["postimage"] == POSTIMAGE.decode()
        assert "<<<<<<<" in detail.data["preimage"] and detail.data["preimage_note"] == ""
    assert api("GET", base).status == 401


def test_delete_forgets_with_the_manage_scope_only(api, token_for, pipeline, recorded):
    path = f"/repositories/{pipeline['repo'].pk}/resolutions/{recorded.pk}"
    for persona, scopes in [("developer", None), ("release_manager", ["read", "promote"])]:
        answer = api("DELETE", path, token_for(persona, scopes))
        assert answer.status == 403, (persona, answer.body[:300])
        assert RecordedResolution.objects.filter(pk=recorded.pk).exists()
    answer = api("DELETE", path, token_for("release_manager", ["manage"]))
    assert answer.status == 200, answer.body[:300]
    assert answer.data["id"] == recorded.pk and answer.data["path"] == "classes/A.cls"
    assert not RecordedResolution.objects.filter(pk=recorded.pk).exists()
    assert AuditEvent.objects.filter(action="forgot a recorded resolution").count() == 1
    assert api("DELETE", path, token_for("release_manager", ["manage"])).status == 404


def test_a_resolution_made_in_a_hidden_instance_is_not_found(api, token_for, pipeline, personas):
    InstanceGrant.objects.create(
        instance=pipeline["prod"], capability=Capability.VIEW, user=personas["admin"]
    )
    hidden = make_resolution(pipeline, personas["admin"], target="prod", path="classes/P.cls")
    token = token_for("release_manager")
    base = f"/repositories/{pipeline['repo'].pk}/resolutions"
    assert api("GET", base, token).data["results"] == []
    assert api("GET", f"{base}/{hidden.pk}", token).status == 404
    assert api("DELETE", f"{base}/{hidden.pk}", token).status == 404
    assert RecordedResolution.objects.filter(pk=hidden.pk).exists()


def test_a_promotion_says_which_paths_a_recorded_resolution_resolved(
    api, token_for, pipeline, recorded
):
    promotion = recorded.promotion
    promotion.auto_resolutions = {
        "classes/A.cls": {"recorded": recorded.pk, "promotion": 7, "conflict_id": "1f" * 20}
    }
    promotion.save(update_fields=["auto_resolutions"])
    answer = api("GET", f"/promotions/{promotion.pk}", token_for("developer", ["read"]))
    assert answer.status == 200
    assert answer.data["auto_resolutions"] == [
        {"path": "classes/A.cls", "recorded": recorded.pk, "promotion": 7, "conflict_id": "1f" * 20}
    ]
