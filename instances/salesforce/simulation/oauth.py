"""The stand-in's OAuth endpoints: the authorize page and /services/oauth2/token (JWT bearer,
refresh token, authorization code with PKCE, client credentials, username-password), with
Salesforce's OAuth errors. Shapes: docs/salesforce.md."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
import threading
from typing import Any
from urllib.parse import quote

import jwt

from instances.salesforce.simulation.state import Knobs, Organization, User


def _oauth_error(error: str, description: str) -> tuple[int, dict[str, Any]]:
    return 400, {"error": error, "error_description": description}


class OAuthApi:
    """Mixed into the stand-in: the connected app's grants, each answering a session."""

    url: str
    knobs: Knobs
    org: Organization
    users: dict[str, User]
    consumer_key: str
    client_secret: str
    jwt_public_key: str
    refresh_tokens: dict[str, str]
    redirect_uri: str
    authorization_codes: dict[str, tuple[str, str, str]]
    lock: threading.RLock

    def new_session(self, username: str) -> str:
        raise NotImplementedError

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant = form.get("grant_type", "")
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return self._jwt_grant(form.get("assertion", ""))
        if grant == "refresh_token":
            return self._refresh_grant(form)
        if grant == "authorization_code":
            return self._code_grant(form)
        if grant == "client_credentials":
            return self._client_credentials_grant(form)
        if grant == "password":
            return self._password_grant(form)
        return 400, {
            "error": "unsupported_grant_type",
            "error_description": "grant type not supported",
        }

    def _granted(self, username: str, with_scope: bool = True) -> tuple[int, dict[str, Any]]:
        session_id = self.new_session(username)
        answer = {
            "access_token": session_id,
            "instance_url": self.url,
            "id": f"{self.url}/id/{self.org.org_id}/0055g00000ABCDEAA1",
            "token_type": "Bearer",
            "issued_at": str(int(dt.datetime.now(dt.UTC).timestamp() * 1000)),
            "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
        }
        if with_scope:
            answer["scope"] = "api refresh_token"
        return 200, answer

    def _jwt_grant(self, assertion: str) -> tuple[int, dict[str, Any]]:
        try:
            header_claims = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            return _oauth_error("invalid_grant", "invalid assertion")
        if header_claims.get("iss") != self.consumer_key:
            return 400, {
                "error": "invalid_client_id",
                "error_description": "client identifier invalid",
            }
        try:
            claims = jwt.decode(
                assertion,
                self.jwt_public_key,
                algorithms=["RS256"],
                audience=self.url,
                issuer=self.consumer_key,
                options={"require": ["iss", "sub", "aud", "exp"]},
            )
        except jwt.InvalidAudienceError:
            return _oauth_error("invalid_grant", "audience is invalid")
        except jwt.ExpiredSignatureError:
            return 400, {
                "error": "invalid_grant",
                "error_description": "expired authorization code",
            }
        except jwt.PyJWTError:
            return _oauth_error("invalid_grant", "invalid assertion")
        if claims["sub"] not in self.users:
            return 400, {
                "error": "invalid_grant",
                "error_description": "user hasn't approved this consumer",
            }
        return self._granted(claims["sub"])

    def _refresh_grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if refused := self._client(form):
            return refused
        username = self.refresh_tokens.get(form.get("refresh_token", ""))
        if username is None:
            return 400, {
                "error": "invalid_grant",
                "error_description": "expired access/refresh token",
            }
        return self._granted(username)

    def _client(self, form: dict[str, str]) -> tuple[int, dict[str, Any]] | None:
        """The connected app's id and secret, or the OAuth error for them."""
        if form.get("client_id") != self.consumer_key:
            return 400, {
                "error": "invalid_client_id",
                "error_description": "client identifier invalid",
            }
        if form.get("client_secret", "") != self.client_secret:
            return 400, {
                "error": "invalid_client",
                "error_description": "invalid client credentials",
            }
        return None

    def authorize(self, query: dict[str, str]) -> str:
        """The authorize page, the user logged in and consenting: where the browser goes next
        (the callback with a code, or with the error)."""
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.consumer_key or redirect_uri != self.redirect_uri:
            return f"{redirect_uri or self.redirect_uri}?error=invalid_client_id"
        code = "aPrx" + secrets.token_urlsafe(24)
        with self.lock:
            self.authorization_codes[code] = (
                next(iter(self.users)),
                redirect_uri,
                query.get("code_challenge", ""),
            )
        state = f"&state={quote(query['state'])}" if query.get("state") else ""
        return f"{redirect_uri}?code={quote(code)}{state}"

    def _code_grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if refused := self._client(form):
            return refused
        with self.lock:
            issued = self.authorization_codes.pop(form.get("code", ""), None)
        if issued is None:
            return _oauth_error("invalid_grant", "invalid authorization code")
        username, redirect_uri, challenge = issued
        if form.get("redirect_uri") != redirect_uri:
            return _oauth_error("redirect_uri_mismatch", "redirect_uri must match configuration")
        if challenge:
            verifier = form.get("code_verifier", "").encode()
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
            if digest.decode() != challenge:
                return _oauth_error("invalid_grant", "invalid code verifier")
        status, answer = self._granted(username)
        refresh_token = "5Aep861" + secrets.token_urlsafe(40)
        with self.lock:
            self.refresh_tokens[refresh_token] = username
        answer["refresh_token"] = refresh_token
        return status, answer

    def _client_credentials_grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if refused := self._client(form):
            return refused
        user = self.knobs.client_credentials_user
        if user is None:
            return _oauth_error("invalid_grant", "no client credentials user enabled")
        return self._granted(user, with_scope=True)

    def _password_grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if refused := self._client(form):
            return refused
        user = self.users.get(form.get("username", ""))
        if user is None or form.get("password") != user.password + user.security_token:
            return _oauth_error("invalid_grant", "authentication failure")
        return self._granted(user.username)
