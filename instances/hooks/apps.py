from django.apps import AppConfig


class HooksConfig(AppConfig):
    name = "instances.hooks"
    label = "hooks"
    verbose_name = "Inbound webhooks"
