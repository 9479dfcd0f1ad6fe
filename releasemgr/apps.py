from django.apps import AppConfig


class ReleasemgrConfig(AppConfig):
    name = "releasemgr"
    verbose_name = "releasemgr"

    def ready(self) -> None:
        from releasemgr import checks  # noqa: F401  (registers the start-up checks)
