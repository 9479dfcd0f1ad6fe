"""The signed-in user's own personal access tokens: create (the token is shown once), list, revoke.

A browser session manages tokens; a token cannot create or revoke tokens (the API has no such
call), so a leaked token cannot mint a longer-lived one.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from releasemgr import tokens
from releasemgr.access import get_own_token_for
from releasemgr.forms import AccessTokenForm
from releasemgr.http import AuthedRequest
from releasemgr.models import AccessToken


@never_cache
@require_http_methods(["GET", "POST"])
def token_list(request: AuthedRequest) -> HttpResponse:
    form = AccessTokenForm(request.POST or None)
    new_token = ""
    if request.method == "POST" and form.is_valid():
        try:
            _, new_token = tokens.create_token(
                request.user,
                form.cleaned_data["name"],
                form.cleaned_data["scopes"],
                form.cleaned_data["expires_in_days"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            # Answered here, not after a redirect: the token must not sit in a session or cookie.
            form = AccessTokenForm()
    own = AccessToken.objects.filter(user=request.user).order_by("revoked_at", "-created_at")
    return render(
        request,
        "releasemgr/token_list.html",
        {"form": form, "tokens": own, "new_token": new_token},
        status=400 if form.errors else 200,
    )


@require_POST
def token_revoke(request: AuthedRequest, pk: int) -> HttpResponse:
    token = get_own_token_for(request, pk)
    if tokens.revoke(token, request.user):
        messages.success(request, f"The token “{token.name}” is revoked; it no longer works.")
    else:
        messages.info(request, f"The token “{token.name}” was already revoked.")
    return redirect("token_list")
