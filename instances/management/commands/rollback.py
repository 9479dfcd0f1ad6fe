"""`manage.py rollback`: roll back a succeeded promotion, as its page's "Roll back" does.

Without `--acknowledge` it prints what the rollback cannot undo and refuses (exit 2); with it,
it queues the rollback promotion and, with `--wait`, follows it as `promote --wait` does.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from instances.management.commands import promote
from instances.management.commands._cli import acting_user, promotion_numbered, reason, refuse
from instances.promotions.errors import PromotionError
from instances.promotions.irreversible import what_stays
from instances.promotions.rules import Action, allowed_actions, request_rollback


class Command(promote.Command):
    help = (
        "Roll back a succeeded promotion: a rollback promotion into the same instance reverts "
        "its merges and deploys the inverse. Needs --acknowledge of what it cannot undo; with "
        "--wait, follows it: exit 0 succeeded, 1 did not succeed, 2 refused, 3 timed out."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("promotion", metavar="PROMOTION_ID")
        parser.add_argument(
            "--as",
            dest="username",
            metavar="USERNAME",
            required=True,
            help="A release manager who manages or may approve into the promotion's target.",
        )
        parser.add_argument(
            "--acknowledge",
            action="store_true",
            help="Acknowledge what the rollback cannot undo (printed without it).",
        )
        promote.add_wait_arguments(parser, "rollback")

    def handle(self, *args: Any, **options: Any) -> None:
        user = acting_user(options["username"], perm=None, doing="roll back promotions")
        promotion = promotion_numbered(options["promotion"], user)
        try:
            allowed_actions(promotion, user).check(Action.ROLLBACK)
        except PromotionError as exc:
            raise refuse(reason(exc)) from None
        stays, note = what_stays(promotion)
        if not options["acknowledge"]:
            listed = "\n".join(
                f"- {s.title}: {s.detail}" + "".join(f"\n    {c}" for c in s.components)
                for s in stays
            )
            raise refuse(
                f"Rolling back promotion #{promotion.pk} cannot undo:\n{listed}\n"
                + (f"{note}\n" if note else "")
                + "Run again with --acknowledge to roll it back."
            )
        try:
            rollback = request_rollback(
                promotion, user, acknowledge=True, acknowledged=[s.title for s in stays]
            )
        except PromotionError as exc:
            raise refuse(reason(exc)) from None
        keys = ", ".join(i.feature.key for i in rollback.items.select_related("feature"))
        self.announce(
            rollback,
            f"Promotion #{rollback.pk} (roll back): promotion #{promotion.pk} ({keys}) in "
            f"{promotion.target.name}, {rollback.get_status_display().lower()}.",
            options,
        )
