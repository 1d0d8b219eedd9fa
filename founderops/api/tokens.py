"""Create, check and revoke API tokens. Tokens look like `fo_<prefix>_<secret>`.

Only a SHA-256 digest of a token is stored: the token itself is shown once, at creation.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.contrib.auth.models import User
from django.db.models import Q

from founderops.accounts import roles
from founderops.accounts.roles import Role
from founderops.api.models import ApiToken
from founderops.core import audit, clock
from founderops.core.errors import InvalidInput, NotFound

SCOPES = {"tickets:write", "tickets:read", "audit:read", "logs:write", "metrics:write"}
# What each scope asks of the role behind the call: reading is for every member, writing
# for agents and owners. A token acts for its member and never does more than they may.
SCOPE_ROLES = {
    "tickets:read": Role.VIEWER,
    "audit:read": Role.VIEWER,
    "tickets:write": Role.AGENT,
    # The application's own logs and metrics: sent by a deploy, written by an agent's token.
    "logs:write": Role.AGENT,
    "metrics:write": Role.AGENT,
}
# Marking every call would make each read a write; a minute's precision is enough.
LAST_USED_PRECISION = timedelta(minutes=1)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str, scopes: list[str]) -> tuple[ApiToken, str]:
    name = name.strip()
    unknown = set(scopes) - SCOPES
    if unknown:
        raise InvalidInput(
            f"unknown scopes: {', '.join(sorted(unknown))} (known: {', '.join(sorted(SCOPES))})"
        )
    if not scopes:
        raise InvalidInput(f"a token needs at least one scope: {', '.join(sorted(SCOPES))}")
    if not name or len(name) > 100:
        raise InvalidInput("a token needs a name of 1 to 100 characters")
    role = roles.role_of(user)
    beyond = sorted(s for s in set(scopes) if not roles.allows(role, SCOPE_ROLES[s]))
    if beyond:
        raise InvalidInput(
            f"{user.get_username()} is {role or 'not a team member'}: a token acting for them "
            f"cannot use {', '.join(beyond)}"
        )
    prefix = secrets.token_hex(4)
    token = f"fo_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiToken.objects.create(
        name=name,
        prefix=prefix,
        digest=digest(token),
        scopes=sorted(set(scopes)),
        user=user,
        created_at=clock.now(),
    )
    audit.record(
        f"user:{user.get_username()}",
        "api.token_created",
        ("apitoken", row.pk),
        outcome="created",
        details={"name": name, "scopes": row.scopes},
    )
    return row, token


def check_token(token: str) -> ApiToken | None:
    if not token.startswith("fo_") or len(token) > 200:
        return None
    row = (
        ApiToken.objects.filter(digest=digest(token), revoked=False, user__is_active=True)
        .select_related("user")
        .first()
    )
    if row is None or not hmac.compare_digest(row.digest, digest(token)):
        return None
    now = clock.now()
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION)
    ApiToken.objects.filter(stale, pk=row.pk).update(last_used_at=now)
    return row


def find_token(key: str) -> ApiToken:
    """A token by its id or its prefix (the 8 characters after `fo_`)."""
    key = key.strip().removeprefix("fo_").split("_")[0]
    query = Q(prefix=key)
    if key.isdigit():
        query |= Q(pk=int(key))
    row = ApiToken.objects.filter(query).order_by("id").first()
    if row is None:
        raise NotFound(f"no API token {key!r}: see `founderops tokens list`")
    return row


def revoke_token(row: ApiToken, actor: str) -> ApiToken:
    if not row.revoked:
        row.revoked = True
        row.save(update_fields=["revoked"])
        audit.record(actor, "api.token_revoked", ("apitoken", row.pk), outcome="revoked")
    return row
