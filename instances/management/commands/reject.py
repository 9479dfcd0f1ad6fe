"""`manage.py reject`: a release manager turns down a promotion that waits for approval."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from instances.management.commands._cli import acting_user, promotion_numbered, reason, refuse
from instances.promotions.errors import PromotionError
from instances.promotions.rules import reject


class Command(BaseCommand):
    help = "Reject a promotion awaiting approval, saying why."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("promotion", metavar="PROMOTION_ID")
        parser.add_argument("--as", dest="username", metavar="USERNAME", required=True)
        parser.add_argument("--reason", required=True, help="Why; shown to the requester.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = acting_user(options["username"], perm=None, doing="reject promotions")
        promotion = promotion_numbered(options["promotion"], user)
        try:
            reject(promotion, user, options["reason"])
        except PromotionError as exc:
            raise refuse(reason(exc)) from None
        self.stdout.write(f"Rejected promotion #{promotion.pk} into {promotion.target.name}.")
