from django.apps import AppConfig


class BranchingConfig(AppConfig):
    name = "branching"
    verbose_name = "Branching"
