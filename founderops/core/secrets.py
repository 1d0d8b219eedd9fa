"""Secrets at rest (mailbox passwords, notification URLs): encrypted with a key from SECRET_KEY.

Fernet (AES-128-CBC with HMAC-SHA256) from `cryptography`. Losing or changing SECRET_KEY makes
stored secrets unreadable, which `reveal` reports as InvalidInput instead of crashing.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.views.debug import SafeExceptionReporterFilter

from founderops.core.errors import InvalidInput


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"founderops-secrets:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(plain: str) -> str:
    """The encrypted form of `plain`, safe to store."""
    return _fernet().encrypt(plain.encode()).decode() if plain else ""


def reveal(sealed: str) -> str:
    if not sealed:
        return ""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise InvalidInput(
            "a stored secret cannot be decrypted (was FOUNDEROPS_SECRET_KEY changed?); "
            "enter it again"
        ) from None


# Settings whose whole value is a credential although their name does not say so: apprise
# URLs carry tokens in their path (slack://TokenA/TokenB/TokenC).
_WHOLLY_SECRET = frozenset({"NOTIFY_URLS"})
# scheme://user:password@host: the password part of any URL-shaped setting.
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s]+@", re.IGNORECASE)


class SettingsFilter(SafeExceptionReporterFilter):
    """Django's filter (names with KEY, SECRET, PASS, TOKEN, API, SIGNATURE are hidden) that
    also hides apprise URLs and the password inside URLs such as FOUNDEROPS_SMTP_URL, for the
    debug page and `founderops diffsettings` alike."""

    def cleanse_setting(self, key: int | str, value: Any) -> Any:
        if key in _WHOLLY_SECRET and value:
            return self.cleansed_substitute
        value = super().cleanse_setting(key, value)
        if isinstance(value, str):
            return _URL_PASSWORD.sub(rf"\g<head>{self.cleansed_substitute}@", value)
        return value
