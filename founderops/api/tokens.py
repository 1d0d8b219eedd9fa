"""Create and check API tokens. Tokens look like `fo_<prefix>_<secret>`."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.contrib.auth.models import User

from founderops.api.models import ApiToken
from founderops.core import clock

SCOPES = {"tickets:write", "tickets:read", "audit:read"}


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str, scopes: list[str]) -> tuple[ApiToken, str]:
    unknown = set(scopes) - SCOPES
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}")
    prefix = secrets.token_hex(4)
    token = f"fo_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiToken.objects.create(
        name=name,
        prefix=prefix,
        digest=digest(token),
        scopes=scopes,
        user=user,
        created_at=clock.now(),
    )
    return row, token


def check_token(token: str) -> ApiToken | None:
    if not token.startswith("fo_") or len(token) > 200:
        return None
    row = (
        ApiToken.objects.filter(digest=digest(token), revoked=False).select_related("user").first()
    )
    if row is None or not hmac.compare_digest(row.digest, digest(token)):
        return None
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=clock.now())
    return row
