from django.apps import AppConfig


class ReleasemgrConfig(AppConfig):
    name = "releasemgr"
    verbose_name = "releasemgr"
