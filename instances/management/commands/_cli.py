"""What the command-line commands share: who acts, and turning names into rows.

Every bad input becomes a `CommandError` with a sentence a person (or a CI log) can act on;
the leading underscore keeps Django from offering this module as a command.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from branching.models import Feature
from instances.environments.permissions import visible_instances, visible_promotions
from instances.models import Instance, Promotion

# Exit codes shared by the promotion commands (documented in the README).
BAD_INPUT = 2  # unknown name, invalid value, no permission, not allowed now
NOT_SUCCEEDED = 1  # the promotion ended conflicted, failed, errored, rejected or cancelled
TIMED_OUT = 3  # --wait gave up; the promotion goes on

_LISTED = 20


def refuse(message: str) -> CommandError:
    return CommandError(message, returncode=BAD_INPUT)


def reason(exc: ValidationError) -> str:
    return " ".join(exc.messages)


def acting_user(username: str | None, *, perm: str | None, doing: str) -> User:
    """The user named by --as (or the first superuser), who must hold `perm`."""
    if username:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise refuse(f"There is no user “{username}”.")
        if not user.is_active:
            raise refuse(f"The user “{username}” is inactive.")
    else:
        user = User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        if user is None:
            raise refuse("There is no active superuser to act as; name a user with --as.")
    if perm is not None and not user.has_perm(perm):
        raise refuse(f"{user.get_username()} may not {doing} (that needs the “{perm}” permission).")
    return user


def instance_named(name: str, user: User) -> Instance:
    """The instance called `name` among those `user` may see (others do not exist for them)."""
    visible = visible_instances(user)
    instance = visible.select_related("repository").filter(name=name).first()
    if instance is None:
        names = list(visible.order_by("name").values_list("name", flat=True)[:_LISTED])
        known = f" Instances: {', '.join(names)}." if names else " There are no instances yet."
        raise refuse(f"There is no instance “{name}”.{known}")
    return instance


def features_with_keys(keys: Sequence[str]) -> list[Feature]:
    """The features in the order given (each once); all of them must exist."""
    wanted = list(dict.fromkeys(keys))
    found = {f.key: f for f in Feature.objects.select_related("repository").filter(key__in=wanted)}
    missing = [key for key in wanted if key not in found]
    if missing:
        raise refuse(f"There is no feature {', '.join(missing)}.")
    return [found[key] for key in wanted]


def promotion_numbered(text: str, user: User) -> Promotion:
    try:
        number = int(text.removeprefix("#"))
    except ValueError:
        raise refuse(f"“{text}” is not a promotion number.") from None
    promotion = (
        visible_promotions(user).select_related("target", "requested_by").filter(pk=number).first()
    )
    if promotion is None:
        raise refuse(f"There is no promotion #{number}.")
    return promotion
