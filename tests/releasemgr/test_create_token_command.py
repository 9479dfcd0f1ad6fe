"""`manage.py create_token`: prints the token once; bad input is a message and exit 2."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from releasemgr import tokens
from releasemgr.models import AccessToken

pytestmark = pytest.mark.django_db


def test_it_prints_a_token_that_authenticates(developer):
    out, err = StringIO(), StringIO()
    call_command(
        "create_token",
        "--user",
        developer.username,
        "--name",
        "ci-main",
        "--scope",
        "promote",
        "--scope",
        "approve",
        "--expires",
        "30",
        stdout=out,
        stderr=err,
    )
    raw = out.getvalue().strip()
    token = tokens.authenticate(raw)
    assert token is not None and token.user == developer
    assert token.scopes == ["promote", "approve"]
    assert token.expires_at is not None
    assert "shown only this once" in err.getvalue()


def test_it_defaults_to_read_and_no_expiry(developer):
    out = StringIO()
    call_command("create_token", "--user", developer.username, "--name", "ro", stdout=out)
    token = tokens.authenticate(out.getvalue().strip())
    assert token is not None and token.scopes == ["read"] and token.expires_at is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "nobody", "--name", "x"], "There is no user “nobody”"),
        (["--user", "dan-dev", "--name", " "], "Give the token a name"),
        (["--user", "dan-dev", "--name", "x", "--expires", "0"], "1 to 3650 days"),
    ],
)
def test_it_refuses_bad_input(developer, args, message):
    with pytest.raises(CommandError, match=message) as caught:
        call_command("create_token", *args, stdout=StringIO(), stderr=StringIO())
    assert caught.value.returncode == 2
    assert not AccessToken.objects.exists()


def test_it_refuses_an_unknown_scope_as_argparse_does(developer, capsys):
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("create_token", "--user", developer.username, "--name", "x", "--scope", "root")
