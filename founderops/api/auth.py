"""Who calls the API: a header token (scripts, integrations) or a staff member's session.

Token calls cannot be forged by another site (a browser never adds the Authorization header
on its own), so they need no CSRF token. Session calls can, so they pass Django's CSRF check
exactly as a form post would.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from founderops.api.models import ApiToken
from founderops.api.tokens import check_token


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        return check_token(token.strip())


class StaffSession(APIKeyCookie):
    """A signed-in staff member, with CSRF checked once the session is known."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        # Ninja's own check would run before we know there is a session, and would answer a
        # bad token with "CSRF failed" instead of 401.
        super().__init__(csrf=False)

    def authenticate(self, request: HttpRequest, key: str | None) -> AbstractBaseUser | None:
        user: AbstractBaseUser | AnonymousUser = request.user
        if not key or not user.is_authenticated or not getattr(user, "is_staff", False):
            return None
        if check_csrf(request) is not None:
            raise HttpError(
                403, "CSRF check failed: a browser session must send the X-CSRFToken header"
            )
        assert isinstance(user, AbstractBaseUser)
        return user


def require_scope(request: HttpRequest, scope: str) -> None:
    """Tokens carry scopes; a staff member's session may do everything the API offers."""
    principal: Any = getattr(request, "auth", None)
    if isinstance(principal, ApiToken) and scope not in principal.scopes:
        raise HttpError(403, f"this token lacks the {scope!r} scope")
