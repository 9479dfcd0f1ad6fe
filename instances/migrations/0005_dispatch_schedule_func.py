"""The dispatch task moved with the promotions subpackage: point the schedule row at it."""

from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

NAME = "Dispatch promotions"
OLD = "instances.tasks.dispatch"
NEW = "instances.promotions.tasks.dispatch"


def forward(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME, func=OLD).update(func=NEW)


def backward(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME, func=NEW).update(func=OLD)


class Migration(migrations.Migration):
    dependencies = [("instances", "0004_deployments")]

    operations = [migrations.RunPython(forward, backward)]
