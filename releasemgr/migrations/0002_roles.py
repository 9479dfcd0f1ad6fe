"""Create the two role groups with their permissions."""

from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

# Models every role may read; release managers may also add, change and delete the managed ones.
READABLE = {
    "branching": ["repository"],
    "instances": ["instance", "orgconnection"],
    "releasemgr": ["auditevent"],
}
MANAGED = {
    "branching": ["repository"],
    "instances": ["instance", "orgconnection"],
}


def create_roles(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def perms(actions: list[str], models: dict[str, list[str]]) -> list:
        codenames = [
            (app, f"{action}_{model}")
            for app, names in models.items()
            for model in names
            for action in actions
        ]
        found = []
        for app, codename in codenames:
            found.append(Permission.objects.get(content_type__app_label=app, codename=codename))
        return found

    developers, _ = Group.objects.get_or_create(name="Developers")
    developers.permissions.set(perms(["view"], READABLE))
    managers, _ = Group.objects.get_or_create(name="Release managers")
    managers.permissions.set(
        perms(["view"], READABLE) + perms(["add", "change", "delete"], MANAGED)
    )


def remove_roles(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("auth", "Group").objects.filter(
        name__in=["Developers", "Release managers"]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("releasemgr", "0001_initial"),
        ("branching", "0001_initial"),
        ("instances", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
