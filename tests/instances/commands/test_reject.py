"""`manage.py reject`: a release manager rejects, with a reason."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from instances.models import PromotionStatus
from tests.instances.commands.cli import refused, run

pytestmark = pytest.mark.django_db


def test_it_rejects_with_a_reason(awaiting) -> None:
    assert "Only release managers reject promotions." in refused(
        "reject", str(awaiting.pk), "--as", "dan-dev", "--reason", "no"
    )
    assert "Say why" in refused("reject", str(awaiting.pk), "--as", "rita-rm", "--reason", " ")
    with pytest.raises(CommandError, match="--reason"):
        run("reject", str(awaiting.pk), "--as", "rita-rm")
    out = run("reject", str(awaiting.pk), "--as", "rita-rm", "--reason", "Not this sprint")
    assert out == f"Rejected promotion #{awaiting.pk} into Dev Alice.\n"
    awaiting.refresh_from_db()
    assert awaiting.status == PromotionStatus.REJECTED
    assert awaiting.failure_reason == "Rejected by rita-rm: Not this sprint"
