"""The audit trail is append-only: no one edits or deletes an event, the admin included."""

import pytest
from django.db.models import ProtectedError
from django.urls import reverse

from releasemgr.models import AppendOnlyError, AuditEvent
from tests.conftest import make_repository

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(release_manager):
    return AuditEvent.record(release_manager, "created", make_repository(), {"name": "x"})


def test_it_refuses_to_edit_or_delete_an_event_through_the_orm(event):
    event.action = "nothing happened"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="edited")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    event.refresh_from_db()
    assert event.action == "created"


def test_it_keeps_who_acted_when_someone_tries_to_delete_the_user(event, release_manager):
    with pytest.raises(ProtectedError):
        release_manager.delete()
    event.refresh_from_db()
    assert event.actor == release_manager


def test_it_refuses_edits_and_deletes_in_the_admin(client_for, event):
    admin = client_for("admin")
    change = reverse("admin:releasemgr_auditevent_change", args=[event.pk])
    assert admin.get(change).status_code == 200  # readable
    response = admin.post(change, {"action": "edited", "target_repr": "edited"})
    assert response.status_code == 403
    delete = reverse("admin:releasemgr_auditevent_delete", args=[event.pk])
    assert admin.post(delete, {"post": "yes"}).status_code == 403
    changelist = reverse("admin:releasemgr_auditevent_changelist")
    response = admin.post(
        changelist, {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"}
    )
    assert AuditEvent.objects.filter(pk=event.pk, action="created").exists()
    assert "delete_selected" not in admin.get(changelist).content.decode()
