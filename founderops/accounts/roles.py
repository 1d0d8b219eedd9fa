"""A user's role, and what each role may do. One place answers "may this account …?"."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from founderops.accounts.models import Membership

Role = Membership.Role

# Each role may do what the roles after it may do.
_RANK = {Role.OWNER: 3, Role.AGENT: 2, Role.VIEWER: 1}


def role_of(user: AbstractBaseUser | AnonymousUser) -> str | None:
    """The account's role, or None when it may not use the cockpit at all."""
    if not user.is_authenticated or not getattr(user, "is_active", False):
        return None
    membership = Membership.objects.filter(user_id=user.pk).first()
    if membership is not None:
        return membership.role
    if getattr(user, "is_superuser", False):
        return Role.OWNER
    if getattr(user, "is_staff", False):
        return Role.AGENT
    return None


def allows(role: str | None, needed: str) -> bool:
    return role is not None and _RANK.get(Role(role), 0) >= _RANK[Role(needed)]
