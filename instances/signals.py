"""Keep each instance's copy of its repository's storage key in step with the repository, and
tell housekeeping which commits promotions and deployments still need."""

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from branching.models import Repository
from branching.signals import commits_still_needed
from instances.models import Deployment, Instance, Promotion, PromotionFeature, PromotionStatus
from instances.models.deployment import DEPLOYMENT_TERMINAL

# A promotion in these may run again (waiting, running, or retried after a failure).
_MAY_RUN = [
    PromotionStatus.AWAITING_APPROVAL,
    PromotionStatus.QUEUED,
    PromotionStatus.RUNNING,
    PromotionStatus.CONFLICTED,
    PromotionStatus.FAILED,
    PromotionStatus.ERRORED,
]


@receiver(post_save, sender=Repository)
def follow_repository_storage(
    sender: type[Repository], instance: Repository, **kwargs: Any
) -> None:
    Instance.objects.filter(repository=instance).exclude(storage_key=instance.storage_key).update(
        storage_key=instance.storage_key
    )


@receiver(commits_still_needed)
def commits_promotions_need(sender: type[Repository], storage_key: str, **kwargs: Any) -> list[str]:
    """The commits of promotions that may still run and of deployments not done, in the storage:
    housekeeping keeps what they reach, even when a force-push left no ref reaching it."""
    promotions = Promotion.objects.filter(target__storage_key=storage_key, status__in=_MAY_RUN)
    commits = set(
        PromotionFeature.objects.filter(promotion__in=promotions).values_list("commit", flat=True)
    )
    for row in promotions.values_list("target_head_before", "merged_head"):
        commits.update(row)
    deployments = Deployment.objects.filter(instance__storage_key=storage_key).exclude(
        status__in=list(DEPLOYMENT_TERMINAL)
    )
    for row in deployments.values_list("from_commit", "to_commit"):
        commits.update(row)
    return sorted(c for c in commits if c)
