"""The every-minute dispatch schedule names a task that exists."""

import pydoc
from importlib import import_module

import pytest
from django.apps import apps
from django_q.models import Schedule

from instances.promotions.tasks import dispatch

pytestmark = pytest.mark.django_db

migration = import_module("instances.migrations.0005_dispatch_schedule_func")


def test_it_points_an_old_schedule_row_at_the_dispatcher() -> None:
    Schedule.objects.update_or_create(
        name=migration.NAME, defaults={"func": migration.OLD, "schedule_type": "I", "minutes": 1}
    )
    migration.forward(apps, None)
    assert pydoc.locate(Schedule.objects.get(name=migration.NAME).func) is dispatch


def test_it_can_be_undone() -> None:
    Schedule.objects.update_or_create(
        name=migration.NAME, defaults={"func": migration.NEW, "schedule_type": "I", "minutes": 1}
    )
    migration.backward(apps, None)
    assert Schedule.objects.get(name=migration.NAME).func == migration.OLD
