"""The recorded resolutions of a repository: list, inspect and forget, for release managers,
with per-instance grants hiding resolutions made in promotions into hidden instances."""

import pytest
from django.urls import reverse

from instances.models import Capability, InstanceGrant, RecordedResolution
from releasemgr.models import AuditEvent
from tests.instances.promotions.helpers import HOSTILE, make_feature, make_promotion
from tests.personas import MANAGE, PERSONAS

pytestmark = pytest.mark.django_db

PREIMAGE = b"class A {\n<<<<<<<\n  Decimal total;\n=======\n  Integer count;\n>>>>>>>\n}\n"
POSTIMAGE = b"class A {\n  Decimal total;\n  Integer count;\n}\n"


def make_resolution(pipeline, admin, target="integration", path="classes/A.cls", **fields):
    feature = make_feature(pipeline["repo"], f"RM-{RecordedResolution.objects.count() + 70}", admin)
    promotion = make_promotion(pipeline[target], [feature], admin, source=pipeline["qa"])
    defaults = {
        "repository": pipeline["repo"],
        "path": path,
        "conflict_id": "1f" * 20,
        "preimage": PREIMAGE,
        "preimage_sha256": "a" * 64,
        "postimage": POSTIMAGE,
        "made_by": admin,
        "promotion": promotion,
    }
    return RecordedResolution.objects.create(**{**defaults, **fields})


@pytest.fixture
def recorded(pipeline, personas):
    return make_resolution(pipeline, personas["admin"])


@pytest.mark.parametrize("persona", PERSONAS)
def test_it_enforces_the_permission_matrix(client_for, pipeline, recorded, persona):
    client = client_for(persona)
    repo = pipeline["repo"].pk
    listing = client.get(reverse("recorded_resolution_list", args=[repo]))
    detail = client.get(reverse("recorded_resolution_detail", args=[repo, recorded.pk]))
    assert listing.status_code == MANAGE[persona]
    assert detail.status_code == MANAGE[persona]
    assert client.get(
        reverse("recorded_resolution_forget", args=[repo, recorded.pk])
    ).status_code in (
        302,
        403,
        405,
    )
    forget = client.post(reverse("recorded_resolution_forget", args=[repo, recorded.pk]))
    assert forget.status_code == {200: 302}.get(MANAGE[persona], MANAGE[persona])
    assert RecordedResolution.objects.filter(pk=recorded.pk).exists() == (MANAGE[persona] != 200)


def test_the_list_and_the_detail_show_what_was_recorded(client_for, pipeline, recorded):
    client = client_for("release_manager")
    listing = client.get(reverse("recorded_resolution_list", args=[pipeline["repo"].pk]))
    body = listing.content.decode()
    assert "<code>classes/A.cls</code>" in body and "1f1f1f1f1f" in body
    assert f"promotion #{recorded.promotion_id}" in body
    detail = client.get(recorded.get_absolute_url()).content.decode()
    assert "  Integer count;\n&gt;&gt;&gt;&gt;&gt;&gt;&gt;" in detail  # the preimage, escaped
    assert "\n-=======\n" in detail  # the diff to the resolution drops the markers
    assert "1f" * 20 in detail


def test_paths_and_content_are_escaped(client_for, pipeline, personas):
    hostile = make_resolution(pipeline, personas["admin"], path=HOSTILE, postimage=HOSTILE.encode())
    client = client_for("release_manager")
    for url in (
        reverse("recorded_resolution_list", args=[pipeline["repo"].pk]),
        hostile.get_absolute_url(),
    ):
        body = client.get(url).content.decode()
        assert "<script>" not in body and "<img src=x" not in body


def test_forgetting_is_in_the_audit_trail(client_for, pipeline, recorded):
    client = client_for("release_manager")
    response = client.post(
        reverse("recorded_resolution_forget", args=[pipeline["repo"].pk, recorded.pk]),
        follow=True,
    )
    assert "Forgot the resolution of classes/A.cls" in response.content.decode()
    event = AuditEvent.objects.get(action="forgot a recorded resolution")
    assert event.changes["path"] == "classes/A.cls"
    assert event.changes["made_in_promotion"] == recorded.promotion_id


def test_a_resolution_made_in_a_hidden_instance_is_hidden(client_for, pipeline, personas):
    """Production seen only by admins: a release manager neither lists, reads nor forgets a
    resolution made in a promotion into it."""
    InstanceGrant.objects.create(
        instance=pipeline["prod"], capability=Capability.VIEW, user=personas["admin"]
    )
    hidden = make_resolution(pipeline, personas["admin"], target="prod", path="classes/P.cls")
    client = client_for("release_manager")
    repo = pipeline["repo"].pk
    body = client.get(reverse("recorded_resolution_list", args=[repo])).content.decode()
    assert "classes/P.cls" not in body
    assert client.get(hidden.get_absolute_url()).status_code == 404
    assert (
        client.post(reverse("recorded_resolution_forget", args=[repo, hidden.pk])).status_code
        == 404
    )
    assert RecordedResolution.objects.filter(pk=hidden.pk).exists()
    assert client_for("admin").get(hidden.get_absolute_url()).status_code == 200


def test_the_admin_shows_them_read_only_and_forgets_with_an_audit_event(
    client_for, pipeline, recorded
):
    client = client_for("admin")
    listing = client.get(reverse("admin:instances_recordedresolution_changelist"))
    assert listing.status_code == 200 and "classes/A.cls" in listing.content.decode()
    page = client.get(reverse("admin:instances_recordedresolution_change", args=[recorded.pk]))
    assert "&lt;&lt;&lt;&lt;&lt;&lt;&lt;" in page.content.decode()  # the preimage, escaped
    assert client.get(reverse("admin:instances_recordedresolution_add")).status_code == 403
    delete = reverse("admin:instances_recordedresolution_delete", args=[recorded.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not RecordedResolution.objects.exists()
    assert AuditEvent.objects.filter(action="forgot a recorded resolution").count() == 1
