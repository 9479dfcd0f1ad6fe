"""`manage.py create_token`: a personal access token for a user, printed once.

For an admin on the server (bootstrapping CI before anyone has signed in, or a service user
without a password). The token is printed on stdout and stored only as a hash.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from releasemgr import tokens
from releasemgr.models import Scope


class Command(BaseCommand):
    help = (
        "Create a personal access token for a user and print it once. Every scope includes "
        "read; the token never does more than its user may."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, metavar="NAME", help="Whose token it is.")
        parser.add_argument(
            "--name", required=True, metavar="NAME", help="What uses it, e.g. ci-main."
        )
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            choices=Scope.values,
            metavar="SCOPE",
            help=f"Repeatable; one of {', '.join(Scope.values)} (default: read).",
        )
        parser.add_argument(
            "--expires",
            type=int,
            metavar="DAYS",
            help="Days until the token expires (default: never).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"There is no user “{options['user']}”.", returncode=2)
        try:
            token, raw = tokens.create_token(
                user, options["name"], options["scopes"] or [Scope.READ], options["expires"]
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages), returncode=2) from None
        expires = f"expires {token.expires_at:%Y-%m-%d}" if token.expires_at else "never expires"
        self.stderr.write(
            f"Token “{token.name}” for {user} ({', '.join(token.scopes)}; {expires}). "
            "It is shown only this once:"
        )
        self.stdout.write(raw)
