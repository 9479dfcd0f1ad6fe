"""`manage.py promote`: request a promotion as the web form does, and optionally wait for it.

The direction (enter, forward or back) is inferred from where the features are. The task
cluster does the work; `--wait` only watches the database, printing each new log line, so it
can run anywhere the database is reachable (a CI job, a laptop on the VPN).
"""

from __future__ import annotations

from time import monotonic, sleep
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from branching.git.remote import RemoteError
from instances.management.commands._cli import (
    NOT_SUCCEEDED,
    TIMED_OUT,
    acting_user,
    features_with_keys,
    instance_named,
    reason,
    refuse,
)
from instances.models import Promotion, PromotionLog, PromotionStatus
from instances.models.promotion import LogLevel
from instances.promotions.errors import PromotionError
from instances.promotions.queue import waiting_reason
from instances.promotions.rules import request_promotion

POLL_SECONDS = 0.5


class Command(BaseCommand):
    help = (
        "Promote features into an instance (forward, back or entering the pipeline is inferred). "
        "Prints the promotion number and why it waits; with --wait, follows its log until it "
        "ends: exit 0 succeeded, 1 did not succeed, 2 refused, 3 timed out."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("keys", nargs="+", metavar="KEY", help="Feature keys, such as RM-42.")
        parser.add_argument("--to", required=True, metavar="INSTANCE", help="The target.")
        parser.add_argument(
            "--as",
            dest="username",
            metavar="USERNAME",
            help="Who requests it (needs instances.add_promotion); default: the first superuser.",
        )
        add_wait_arguments(parser, "promotion")

    def handle(self, *args: Any, **options: Any) -> None:
        user = acting_user(
            options["username"], perm="instances.add_promotion", doing="request promotions"
        )
        features = features_with_keys(options["keys"])
        target = instance_named(options["to"], user)
        try:
            promotion = request_promotion(features=features, target=target, user=user)
        except PromotionError as exc:
            raise refuse(reason(exc)) from None
        except RemoteError as exc:
            raise refuse(str(exc)) from None
        keys = ", ".join(f.key for f in features)
        self.announce(
            promotion,
            f"Promotion #{promotion.pk} ({promotion.get_direction_display().lower()}): {keys} "
            f"into {target.name}, {promotion.get_status_display().lower()}.",
            options,
        )

    def announce(self, promotion: Promotion, line: str, options: dict[str, Any]) -> None:
        """Say what was queued and why it waits; with --wait, follow it."""
        self.stdout.write(line)
        self.stdout.write(waiting_reason(promotion))
        if options["wait"]:
            self.follow(promotion, options["timeout"])

    def follow(self, promotion: Promotion, timeout: float) -> None:
        """Print the log as it grows; end like the promotion ended."""
        deadline = monotonic() + timeout
        last_seen = 0
        while True:
            promotion.refresh_from_db()
            for line in PromotionLog.objects.filter(promotion=promotion, pk__gt=last_seen):
                last_seen = line.pk
                level = "" if line.level == LogLevel.INFO else f"{line.get_level_display()}: "
                self.stdout.write(f"{line.at:%H:%M:%S} {level}{line.message}")
            self.stdout.flush()
            if promotion.is_terminal:
                break
            if monotonic() >= deadline:
                hint = (
                    " (Is the task cluster, `manage.py qcluster`, running?)"
                    if promotion.status == PromotionStatus.QUEUED
                    else ""
                )
                raise CommandError(
                    f"Promotion #{promotion.pk} is still "
                    f"{promotion.get_status_display().lower()} after {timeout:g} s. "
                    f"{waiting_reason(promotion)}{hint}",
                    returncode=TIMED_OUT,
                )
            sleep(POLL_SECONDS)
        if promotion.status == PromotionStatus.SUCCEEDED:
            self.stdout.write(f"Promotion #{promotion.pk} succeeded.")
            return
        raise CommandError(outcome(promotion), returncode=NOT_SUCCEEDED)


def add_wait_arguments(parser: CommandParser, what: str) -> None:
    """--wait and --timeout, for the commands that follow a promotion."""
    parser.add_argument("--wait", action="store_true", help=f"Follow the {what} until it ends.")
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help=f"How long --wait waits (default 600); the {what} itself goes on.",
    )


def outcome(promotion: Promotion) -> str:
    status = promotion.get_status_display().lower()
    if promotion.status == PromotionStatus.CONFLICTED:
        paths = [c.get("path", "?") for c in promotion.conflicts] or ["(no path named)"]
        return (
            f"Promotion #{promotion.pk} is conflicted: {promotion.target.name}'s branch was left "
            f"where it was. Conflicted paths:\n  " + "\n  ".join(paths) + "\nResolve them, then "
            "retry the promotion."
        )
    why = promotion.failure_reason or "no reason was recorded"
    return f"Promotion #{promotion.pk} {status}: {why}"
