"""Everyone with a role sees deployments; release managers also start and cancel them."""

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

GRANTS = [
    ("Developers", ["view_deployment"]),
    ("Release managers", ["view_deployment", "add_deployment", "change_deployment"]),
]


def grant(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, codenames in GRANTS:
        Group.objects.get(name=group_name).permissions.add(
            *Permission.objects.filter(content_type__app_label="instances", codename__in=codenames)
        )


def revoke(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, codenames in GRANTS:
        group = Group.objects.filter(name=group_name).first()
        if group:
            group.permissions.remove(
                *Permission.objects.filter(
                    content_type__app_label="instances", codename__in=codenames
                )
            )


class Migration(migrations.Migration):
    dependencies = [
        ("releasemgr", "0003_promotion_roles"),
        ("instances", "0004_deployments"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
