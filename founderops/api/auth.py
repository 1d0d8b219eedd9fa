"""Who calls the API: a header token (scripts, integrations) or a team member's session.

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

from founderops.accounts import roles, sessions
from founderops.api.models import ApiToken
from founderops.api.tokens import SCOPE_ROLES, check_token


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        return check_token(token.strip())


class StaffSession(APIKeyCookie):
    """A signed-in team member (any role), with CSRF checked once the session is known."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        # Ninja's own check would run before we know there is a session, and would answer a
        # bad token with "CSRF failed" instead of 401.
        super().__init__(csrf=False)

    def authenticate(self, request: HttpRequest, key: str | None) -> AbstractBaseUser | None:
        user: AbstractBaseUser | AnonymousUser = request.user
        if not key or not isinstance(user, AbstractBaseUser) or roles.role_of(user) is None:
            return None
        if settings.REQUIRE_2FA and not sessions.is_verified(request):
            # The cockpit's middleware leaves the API's (public) views to this check.
            raise HttpError(403, "this needs a session signed in with two-factor login")
        if check_csrf(request) is not None:
            raise HttpError(
                403, "CSRF check failed: a browser session must send the X-CSRFToken header"
            )
        return user


def require_scope(request: HttpRequest, scope: str) -> None:
    """A token needs the scope; the member behind a token or a session needs the role."""
    principal: Any = getattr(request, "auth", None)
    if isinstance(principal, ApiToken):
        if scope not in principal.scopes:
            raise HttpError(403, f"this token lacks the {scope!r} scope")
        principal = principal.user
    role = roles.role_of(principal) if principal is not None else None
    if not roles.allows(role, SCOPE_ROLES[scope]):
        who = role or "not a team member"
        raise HttpError(403, f"{scope!r} needs the {SCOPE_ROLES[scope]} role; this account: {who}")
