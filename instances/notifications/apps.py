from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "instances.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from instances.notifications import signals  # noqa: F401
