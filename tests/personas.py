"""The personas every view test walks through, and the answers its permission matrix expects.

The personas themselves are fixtures of tests/conftest.py (`personas`, `client_for`): an
anonymous visitor, an outsider (signed in, in no group), a developer, a release manager and an
admin. A matrix maps each persona to the status code a request should get.
"""

from __future__ import annotations

PERSONAS = ("anonymous", "outsider", "developer", "release_manager", "admin")


def answers(ok: int = 200, *, developer: bool = True) -> dict[str, int]:
    """persona → expected status: anonymous visitors are sent to the login page (302),
    outsiders get 403, release managers and admins get `ok`, developers too unless the action
    is for release managers only (then 403)."""
    return {
        "anonymous": 302,
        "outsider": 403,
        "developer": ok if developer else 403,
        "release_manager": ok,
        "admin": ok,
    }


READ = answers()  # pages everyone with a role may see
MANAGE = answers(developer=False)  # pages and forms for release managers
