"""Keep each instance's copy of its repository's storage key in step with the repository."""

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from branching.models import Repository
from instances.models import Instance


@receiver(post_save, sender=Repository)
def follow_repository_storage(
    sender: type[Repository], instance: Repository, **kwargs: Any
) -> None:
    Instance.objects.filter(repository=instance).exclude(storage_key=instance.storage_key).update(
        storage_key=instance.storage_key
    )
