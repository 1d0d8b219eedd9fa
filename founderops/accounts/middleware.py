"""Session rules that hold on every request: sessions expire, and 2FA may be required.

Both run after AuthenticationMiddleware and OTPMiddleware (they need `request.user`) and
before any view, so a session that has expired is signed out before
LoginRequiredMiddleware decides where the visitor goes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect

from founderops.accounts import sessions, two_factor
from founderops.core import audit, clock

Handler = Callable[[HttpRequest], HttpResponseBase]
View = TypeVar("View", bound=Callable[..., Any])
ENROLMENT_URL = "web:security"


def two_factor_exempt(view: View) -> View:
    """Mark a view a member without 2FA may still use under REQUIRE_2FA (enrol, sign out)."""
    view.two_factor_exempt = True  # type: ignore[attr-defined]
    return view


class SessionTimeoutMiddleware:
    """Signs out a session idle for SESSION_IDLE_SECONDS or older than SESSION_COOKIE_AGE."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.user.is_authenticated:
            self.check(request)
        return self.get_response(request)

    def check(self, request: HttpRequest) -> None:
        moment = clock.now().timestamp()
        reason = sessions.expired(request.session, moment)
        if reason is None:
            sessions.touch(request.session, moment)
            return
        username = request.user.get_username()
        audit.record(
            f"user:{username}", "accounts.session_expired", ("user", request.user.pk), reason
        )
        auth.logout(request)
        # The fresh, anonymous session tells the login page why it is showing.
        request.session[sessions.EXPIRED_KEY] = reason


class TwoFactorRequiredMiddleware:
    """With REQUIRE_2FA, a member without a confirmed app goes to the enrolment page.

    Public views (login_not_required) stay public, and views marked `two_factor_exempt`
    (the enrolment page, signing out) stay reachable. A member who has an app but whose
    session was not verified with it (it began before enrolling elsewhere) signs in again.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        if not settings.REQUIRE_2FA or not request.user.is_authenticated:
            return None
        if not getattr(view_func, "login_required", True):
            return None
        if getattr(view_func, "two_factor_exempt", False):
            return None
        if not two_factor.is_enrolled(request.user):
            return redirect(ENROLMENT_URL)
        if not sessions.is_verified(request):
            auth.logout(request)
            return redirect(settings.LOGIN_URL)
        return None
