"""Who is calling: the user, their role, and the token they use (for clients to check setup)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from instances.api.auth import token_of
from releasemgr.roles import role_label

router = Router(tags=["me"])


class TokenOut(Schema):
    name: str
    scopes: list[str]
    expires_at: datetime | None


class MeOut(Schema):
    username: str
    role: str
    token: TokenOut | None


@router.get("/me", response=MeOut, summary="The caller: user, role and token")
def get_me(request: HttpRequest) -> dict[str, object]:
    token = token_of(request)
    return {
        "username": request.user.get_username(),
        "role": role_label(request.user),
        "token": None
        if token is None
        else {"name": token.name, "scopes": token.scopes, "expires_at": token.expires_at},
    }
