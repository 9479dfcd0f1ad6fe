"""`manage.py approve`: a release manager approves a promotion that waits for approval."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from instances.management.commands._cli import acting_user, promotion_numbered, reason, refuse
from instances.promotions.errors import PromotionError
from instances.promotions.queue import waiting_reason
from instances.promotions.rules import approve


class Command(BaseCommand):
    help = "Approve a promotion awaiting approval (by a release manager other than its requester)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("promotion", metavar="PROMOTION_ID")
        parser.add_argument("--as", dest="username", metavar="USERNAME", required=True)
        parser.add_argument("--reason", default="", help="Recorded in the promotion's log.")

    def handle(self, *args: Any, **options: Any) -> None:
        # approve() checks the permission itself; this only turns an unknown name into words.
        user = acting_user(options["username"], perm=None, doing="approve promotions")
        promotion = promotion_numbered(options["promotion"], user)
        try:
            approve(promotion, user, options["reason"])
        except PromotionError as exc:
            raise refuse(reason(exc)) from None
        self.stdout.write(f"Approved promotion #{promotion.pk} into {promotion.target.name}.")
        self.stdout.write(waiting_reason(promotion))
