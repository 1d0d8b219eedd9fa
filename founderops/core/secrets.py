"""Secrets at rest (mailbox passwords, notification URLs): encrypted with a key from SECRET_KEY.

Fernet (AES-128-CBC with HMAC-SHA256) from `cryptography`. Losing or changing SECRET_KEY makes
stored secrets unreadable, which `reveal` reports as InvalidInput instead of crashing.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

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
