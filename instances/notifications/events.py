"""What happened, in words, and who hears about it.

An event is recorded once (its `key` names the occurrence, so a task that runs twice, or two
log lines of the same change, make one event) and fanned out to the subscriptions that match
it: one Delivery per recipient, each sent by its own task after the transaction commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django_q.tasks import async_task

from branching.models import Feature
from instances.environments.permissions import Capability, instances_allowing, visible_instances
from instances.models import (
    Deployment,
    Direction,
    FeaturePresence,
    Instance,
    Promotion,
    PromotionStatus,
)
from instances.notifications.models import (
    Channel,
    Delivery,
    Event,
    EventKind,
    Scope,
    Subscription,
)

KIND_BY_STATUS = {
    PromotionStatus.AWAITING_APPROVAL: EventKind.APPROVAL_REQUESTED,
    PromotionStatus.SUCCEEDED: EventKind.PROMOTION_SUCCEEDED,
    PromotionStatus.FAILED: EventKind.PROMOTION_FAILED,
    PromotionStatus.ERRORED: EventKind.PROMOTION_FAILED,
    PromotionStatus.CONFLICTED: EventKind.PROMOTION_CONFLICTED,
    PromotionStatus.CANCELLED: EventKind.PROMOTION_CANCELLED,
}


@dataclass
class Spec:
    key: str
    kind: EventKind
    title: str
    path: str
    text: str = ""
    instance_ids: list[int] = field(default_factory=list)
    owner_ids: list[int] = field(default_factory=list)
    actor_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


def emit(spec: Spec) -> Event | None:
    """Record the event and its deliveries; None when it was recorded before."""
    with transaction.atomic():
        event, created = Event.objects.get_or_create(
            key=spec.key,
            defaults={
                "kind": spec.kind,
                "title": spec.title[:300],
                "text": spec.text,
                "path": spec.path,
                "instance_ids": spec.instance_ids,
                "owner_ids": spec.owner_ids,
                "actor_id": spec.actor_id,
                "data": spec.data,
            },
        )
        if not created:
            return None
        deliveries = fan_out(event)
        ids = [d.pk for d in deliveries]
        transaction.on_commit(lambda: _enqueue(ids))
    return event


def _enqueue(delivery_ids: Iterable[int]) -> None:
    from instances.notifications.tasks import deliver

    for pk in delivery_ids:
        async_task(deliver, pk, task_name=f"delivery-{pk}")


def may_hear(user: User, event: Event) -> bool:
    """Only those who may see every instance an event involves hear of it (grants included);
    approval requests go to those who may approve on the target, never to the requester."""
    if not user.is_active or not user.has_perm("instances.view_promotion"):
        return False
    # Nobody hears of an instance they may not see (instances.environments.permissions).
    ids = set(event.instance_ids or [])
    if ids and visible_instances(user).filter(pk__in=ids).count() != len(ids):
        return False
    if event.kind == EventKind.APPROVAL_REQUESTED:
        target = event.instance_ids[0] if event.instance_ids else None
        return (
            user.has_perm("instances.approve_promotion")
            and user.pk != event.actor_id
            and (
                target is None
                or instances_allowing(user, Capability.APPROVE).filter(pk=target).exists()
            )
        )
    return True


def matching_subscriptions(event: Event) -> list[Subscription]:
    scoped = (
        Q(scope=Scope.EVERYTHING)
        | Q(scope=Scope.INSTANCE, instance_id__in=event.instance_ids)
        | Q(scope=Scope.MY_FEATURES, user_id__in=event.owner_ids)
    )
    subscriptions = Subscription.objects.filter(scoped).select_related("user", "endpoint")
    return [s for s in subscriptions if event.kind in s.events and may_hear(s.user, event)]


def fan_out(event: Event) -> list[Delivery]:
    deliveries = []
    for subscription in matching_subscriptions(event):
        user = subscription.user
        if subscription.by_email and user.email:
            delivery, created = Delivery.objects.get_or_create(
                event=event, channel=Channel.EMAIL, recipient=user.email, defaults={"user": user}
            )
            if created:
                deliveries.append(delivery)
        endpoint = subscription.endpoint
        if endpoint is not None:
            delivery, created = Delivery.objects.get_or_create(
                event=event,
                channel=Channel.WEBHOOK,
                recipient=endpoint.url,
                defaults={"user": user, "endpoint": endpoint},
            )
            if created:
                deliveries.append(delivery)
    return deliveries


# --------------------------------------------------------------------------- promotions


def _keys(promotion: Promotion) -> list[str]:
    return [item.feature.key for item in promotion.items.all()]


def promotion_specs(promotion: Promotion) -> list[Spec]:
    """The events a promotion's current status makes: none while it waits in a queue or runs."""
    kind = KIND_BY_STATUS.get(PromotionStatus(promotion.status))
    if kind is None:
        return []
    keys = ", ".join(_keys(promotion))
    target = promotion.target
    owners = sorted({item.feature.owner_id for item in promotion.items.all()})
    instances = [target.pk] + ([promotion.source_id] if promotion.source_id else [])
    status = promotion.get_status_display().lower()
    titles = {
        EventKind.APPROVAL_REQUESTED: f"Approval requested: promotion #{promotion.pk} of {keys} "
        f"into {target.name}",
        EventKind.PROMOTION_SUCCEEDED: f"Promotion #{promotion.pk} succeeded: {keys} now in "
        f"{target.name}",
    }
    rollback = promotion.direction == Direction.ROLLBACK
    if rollback:
        titles[EventKind.PROMOTION_SUCCEEDED] = (
            f"Rollback #{promotion.pk} succeeded: promotion #{promotion.rollback_of_id} reverted, "
            f"{keys} no longer in {target.name}"
        )
    title = titles.get(kind, f"Promotion #{promotion.pk} of {keys} into {target.name} {status}")
    text = promotion.failure_reason or f"Requested by {promotion.requested_by}."
    specs = [
        Spec(
            key=f"promotion:{promotion.pk}:{promotion.attempt}:{promotion.status}",
            kind=kind,
            title=title,
            text=text,
            path=promotion.get_absolute_url(),
            instance_ids=instances,
            owner_ids=owners,
            actor_id=promotion.requested_by_id,
            data={
                "promotion": promotion.pk,
                "status": promotion.status,
                "target": target.name,
                "target_id": target.pk,
                "source": promotion.source.name if promotion.source else None,
                "features": _keys(promotion),
                "target_head": promotion.target_head_after,
                "rollback_of": promotion.rollback_of_id,
            },
        )
    ]
    if promotion.status == PromotionStatus.SUCCEEDED and not rollback:
        specs.extend(back_promotion_specs(promotion, owners))
    return specs


def back_promotion_specs(promotion: Promotion, owners: list[int]) -> list[Spec]:
    """Features that just reached an instance can now go back to its other children."""
    target = promotion.target
    feature_ids = {item.feature_id for item in promotion.items.all()}
    children = list(Instance.objects.filter(parent=target).exclude(pk=promotion.source_id or 0))
    held: dict[int, set[int]] = {}
    for instance_id, feature_id in FeaturePresence.objects.filter(
        instance__in=children, feature_id__in=feature_ids
    ).values_list("instance_id", "feature_id"):
        held.setdefault(instance_id, set()).add(feature_id)
    keys = {item.feature_id: item.feature.key for item in promotion.items.all()}
    specs = []
    for child in children:
        missing = sorted(keys[f] for f in feature_ids - held.get(child.pk, set()))
        if not missing:
            continue
        specs.append(
            Spec(
                key=f"promotion:{promotion.pk}:{promotion.attempt}:back:{child.pk}",
                kind=EventKind.BACK_PROMOTION_POSSIBLE,
                title=f"{', '.join(missing)} can be back promoted from {target.name} into "
                f"{child.name}",
                text=f"Promotion #{promotion.pk} brought them into {target.name}.",
                path=child.get_absolute_url(),
                instance_ids=[child.pk, target.pk],
                owner_ids=owners,
                actor_id=promotion.requested_by_id,
                data={
                    "promotion": promotion.pk,
                    "from": target.name,
                    "into": child.name,
                    "features": missing,
                },
            )
        )
    return specs


def deployment_spec(deployment: Deployment) -> Spec | None:
    if not deployment.went_wrong:
        return None
    owners: list[int] = []
    if deployment.promotion_id:
        owners = sorted(
            {i.feature.owner_id for i in deployment.promotion.items.select_related("feature")}  # type: ignore[union-attr]
        )
    return Spec(
        key=f"deployment:{deployment.pk}:{deployment.status}",
        kind=EventKind.DEPLOYMENT_FAILED,
        title=f"{deployment} {deployment.get_status_display().lower()}",
        text=deployment.error_message
        or f"{deployment.component_errors} component errors, {deployment.test_errors} test "
        "failures.",
        path=deployment.get_absolute_url(),
        instance_ids=[deployment.instance_id],
        owner_ids=owners,
        actor_id=deployment.requested_by_id,
        data={
            "deployment": deployment.pk,
            "status": deployment.status,
            "instance": deployment.instance.name,
            "promotion": deployment.promotion_id,
        },
    )


def stale_spec(feature: Feature, head: str) -> Spec | None:
    """A feature branch moved on: the instances holding an older commit of it are now stale."""
    stale = list(
        FeaturePresence.objects.filter(feature=feature)
        .exclude(commit=head)
        .select_related("instance")
        .order_by("instance__name")
    )
    if not stale:
        return None
    names = ", ".join(p.instance.name for p in stale)
    return Spec(
        key=f"feature:{feature.pk}:stale:{head}",
        kind=EventKind.FEATURE_STALE,
        title=f"{feature.key} moved on: stale in {names}",
        text=f"{feature.branch} is now at {head[:12]}; promote it again to bring the new commits.",
        path=feature.get_absolute_url(),
        instance_ids=[p.instance_id for p in stale],
        owner_ids=[feature.owner_id],
        data={
            "feature": feature.key,
            "branch": feature.branch,
            "head": head,
            "stale_in": [p.instance.name for p in stale],
        },
    )


def _override(
    key: str, what: str, target: Any, path: str, user: User, justification: str, **fields: Any
) -> Spec:
    """An emergency override pushed `what` through frozen or closed `target`."""
    data = {**fields.pop("data"), "target": target.name, "justification": justification}
    return Spec(
        key=f"override:{key}",
        kind=EventKind.EMERGENCY_OVERRIDE,
        title=f"Emergency override: {what} by {user}",
        text=justification,
        path=path,
        actor_id=user.pk,
        data=data,
        **fields,
    )


def deployment_override_spec(deployment: Deployment, user: User, justification: str) -> Spec:
    """An emergency override pushed a standalone deployment through a closed instance."""
    instance = deployment.instance
    return _override(
        f"deployment:{deployment.pk}",
        f"deployment #{deployment.pk} to {instance.name}",
        instance,
        deployment.get_absolute_url(),
        user,
        justification,
        instance_ids=[instance.pk],
        data={"deployment": deployment.pk},
    )


def override_spec(promotion: Promotion, user: User, justification: str) -> Spec:
    """An emergency override pushed a promotion through a frozen or closed instance."""
    target = promotion.target
    return _override(
        str(promotion.pk),
        f"promotion #{promotion.pk} into {target.name}",
        target,
        promotion.get_absolute_url(),
        user,
        justification,
        instance_ids=[target.pk] + ([promotion.source_id] if promotion.source_id else []),
        owner_ids=sorted({item.feature.owner_id for item in promotion.items.all()}),
        data={"promotion": promotion.pk},
    )
