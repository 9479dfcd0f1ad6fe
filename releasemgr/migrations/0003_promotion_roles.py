"""Give the roles their permissions on features, collections and promotions."""

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

# (group, app, codename) added by this migration.
GRANTS = [
    ("Developers", "branching", ["view_feature", "add_feature", "view_collection"]),
    ("Developers", "instances", ["view_promotion", "add_promotion", "view_featurepresence"]),
    (
        "Release managers",
        "branching",
        [
            "view_feature",
            "add_feature",
            "change_feature",
            "view_collection",
            "add_collection",
            "change_collection",
            "delete_collection",
        ],
    ),
    (
        "Release managers",
        "instances",
        [
            "view_promotion",
            "add_promotion",
            "change_promotion",
            "approve_promotion",
            "view_featurepresence",
        ],
    ),
]


def grant(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, app_label, codenames in GRANTS:
        group = Group.objects.get(name=group_name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        )


def revoke(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, app_label, codenames in GRANTS:
        group = Group.objects.filter(name=group_name).first()
        if group:
            group.permissions.remove(
                *Permission.objects.filter(
                    content_type__app_label=app_label, codename__in=codenames
                )
            )


class Migration(migrations.Migration):
    dependencies = [
        ("releasemgr", "0002_roles"),
        ("branching", "0002_features"),
        ("instances", "0002_promotions"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
