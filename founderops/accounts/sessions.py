"""What a signed-in session remembers, and when it ends.

A session ends SESSION_IDLE_SECONDS after its last request, and SESSION_COOKIE_AGE after
sign-in however busy it is (the absolute age is also the session's fixed expiry date, so
the cookie and the stored session end with it). Times are Unix seconds from core.clock.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.models import AbstractBaseUser, User
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp import login as otp_login
from django_otp.models import Device

from founderops.core import clock

SIGNED_IN_KEY = "accounts.signed_in_at"
SEEN_KEY = "accounts.seen_at"
EXPIRED_KEY = "accounts.expired"
PENDING_KEY = "accounts.pending"
# Writing the session on every request would make each page view a database write; a
# minute's precision is plenty for an idle timeout counted in hours.
SEEN_PRECISION_SECONDS = 60
# The code step must follow the password step soon, or the password is asked again.
PENDING_SECONDS = 300

IDLE = "idle"
TOO_OLD = "too old"


def expired(session: SessionBase, moment: float) -> str | None:
    """Why this signed-in session is over ("idle", "too old"), or None while it lasts."""
    signed_in = session.get(SIGNED_IN_KEY)
    seen = session.get(SEEN_KEY)
    if isinstance(signed_in, int | float) and moment - signed_in > settings.SESSION_COOKIE_AGE:
        return TOO_OLD
    if isinstance(seen, int | float) and moment - seen > settings.SESSION_IDLE_SECONDS:
        return IDLE
    return None


def touch(session: SessionBase, moment: float) -> None:
    """Note this request; a session signed in some other way starts its clocks now."""
    session.setdefault(SIGNED_IN_KEY, moment)
    seen = session.get(SEEN_KEY)
    if not isinstance(seen, int | float) or moment - seen >= SEEN_PRECISION_SECONDS:
        session[SEEN_KEY] = moment


def sign_in(request: HttpRequest, user: User, device: Device | None = None) -> None:
    """Log in: a new session key (no fixation), fixed expiry, verified with `device`."""
    request.session.pop(PENDING_KEY, None)
    auth.login(request, user)
    moment = clock.now()
    request.session.set_expiry(moment + timedelta(seconds=settings.SESSION_COOKIE_AGE))
    request.session[SIGNED_IN_KEY] = moment.timestamp()
    request.session[SEEN_KEY] = moment.timestamp()
    if device is not None:
        otp_login(request, device)


def verify_session(request: HttpRequest, device: Device) -> None:
    """This session has now proved the second factor (just enrolled)."""
    otp_login(request, device)


def is_verified(request: HttpRequest) -> bool:
    return bool(request.session.get(DEVICE_ID_SESSION_KEY)) and bool(
        getattr(request.user, "is_verified", lambda: False)()
    )


def hold_pending(request: HttpRequest, user: AbstractBaseUser, next_url: str) -> None:
    """The password was right; remember who, until the code step completes."""
    request.session[PENDING_KEY] = {
        "user": user.pk,
        "at": clock.now().timestamp(),
        "next": next_url,
    }


def pending(request: HttpRequest) -> dict[str, Any] | None:
    """The password step waiting for its code, unless it is too old."""
    held = request.session.get(PENDING_KEY)
    if not isinstance(held, dict):
        return None
    if clock.now().timestamp() - float(held.get("at", 0)) > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        return None
    return held


def drop_pending(request: HttpRequest) -> None:
    request.session.pop(PENDING_KEY, None)
