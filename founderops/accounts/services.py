"""The team: add members, change roles, deactivate, reset two-factor login. All audited.

A role lives in Membership; Django's own flags follow it (owners are staff superusers, so
the admin and its permissions work for them, other roles are neither). The installation
always keeps at least one active owner: the last one can be neither demoted nor
deactivated.
"""

from __future__ import annotations

from django.contrib.auth import password_validation
from django.contrib.auth.models import User
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from founderops.accounts import two_factor
from founderops.accounts.models import Membership
from founderops.accounts.roles import Role
from founderops.core import audit, clock
from founderops.core.errors import Conflict, InvalidInput, NotFound

LAST_OWNER = "the installation needs at least one active owner: make someone else owner first"


def add_member(
    username: str, email: str, role: str, actor: str, password: str | None = None
) -> User:
    """A new team member. Without a password the account waits for its set-password link."""
    role = _checked_role(role)
    user = User(username=username.strip(), email=email.strip())
    _validate_new_user(user)
    if password:
        _validate_password(password, user)
        user.set_password(password)
    else:
        user.set_unusable_password()
    with transaction.atomic():
        user.save()
        register_member(user, role, actor, outcome="added")
    return user


def register_member(user: User, role: str, actor: str, outcome: str = "added") -> Membership:
    """Give an existing account its role (`founderops init` does this for the owner)."""
    role = _checked_role(role)
    with transaction.atomic():
        membership = _set_role(user, role)
        audit.record(
            actor,
            "accounts.member_added",
            ("user", user.pk),
            outcome,
            details={"username": user.get_username(), "role": role},
        )
    return membership


def change_role(user: User, role: str, actor: str) -> Membership:
    role = _checked_role(role)
    with transaction.atomic():
        before = _role_locked(user)
        if before == role:
            return _set_role(user, role)
        if before == Role.OWNER and user.is_active:
            _require_another_owner(user)
        membership = _set_role(user, role)
        audit.record(
            actor,
            "accounts.role_changed",
            ("user", user.pk),
            role,
            details={"username": user.get_username(), "from": before or "", "to": role},
        )
    return membership


def deactivate(user: User, actor: str) -> User:
    """The account can no longer sign in, and its sessions and API tokens stop working."""
    with transaction.atomic():
        if not User.objects.select_for_update().get(pk=user.pk).is_active:
            return user
        if _role_locked(user) == Role.OWNER:
            _require_another_owner(user)
        user.is_active = False
        user.save(update_fields=["is_active"])
        audit.record(
            actor,
            "accounts.member_deactivated",
            ("user", user.pk),
            "deactivated",
            details={"username": user.get_username()},
        )
    return user


def reactivate(user: User, actor: str) -> User:
    with transaction.atomic():
        if User.objects.select_for_update().get(pk=user.pk).is_active:
            return user
        user.is_active = True
        user.save(update_fields=["is_active"])
        audit.record(
            actor,
            "accounts.member_reactivated",
            ("user", user.pk),
            "reactivated",
            details={"username": user.get_username()},
        )
    return user


def reset_two_factor(user: User, actor: str) -> int:
    """Remove the member's app and recovery codes (a lost phone); they enrol again."""
    with transaction.atomic():
        removed = two_factor.remove_all(user)
        audit.record(
            actor,
            "accounts.two_factor_reset",
            ("user", user.pk),
            "reset" if removed else "nothing to reset",
            details={"username": user.get_username(), "devices": removed},
        )
    return removed


def enable_two_factor(user: User, code: str) -> list[str] | None:
    """Confirm the app being enrolled; the ten recovery codes, or None for a wrong code."""
    with transaction.atomic():
        codes = two_factor.confirm(two_factor.pending_device(user), code)
        if codes is not None:
            audit.record(
                f"user:{user.get_username()}",
                "accounts.two_factor_enabled",
                ("user", user.pk),
                "enabled",
            )
    return codes


def renew_recovery_codes(user: User) -> list[str]:
    codes = two_factor.new_recovery_codes(user.pk)
    audit.record(
        f"user:{user.get_username()}",
        "accounts.recovery_codes_renewed",
        ("user", user.pk),
        "renewed",
        details={"codes": len(codes)},
    )
    return codes


def disable_two_factor(user: User) -> None:
    with transaction.atomic():
        two_factor.remove_all(user)
        audit.record(
            f"user:{user.get_username()}",
            "accounts.two_factor_disabled",
            ("user", user.pk),
            "disabled",
        )


def set_password_path(user: User) -> str:
    """A one-time link to choose a password: it stops working once a password is set (the
    token covers the password hash), and after PASSWORD_RESET_TIMEOUT."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("web:set_password", kwargs={"uidb64": uid, "token": token})


def record_password_set(user: User) -> None:
    audit.record(f"user:{user.get_username()}", "accounts.password_set", ("user", user.pk), "set")


def find_member(username: str) -> User:
    user = User.objects.filter(username=username.strip()).first()
    if user is None:
        raise NotFound(f"no account {username.strip()!r}: see `founderops users list`")
    return user


def members() -> list[User]:
    """Every account with a role, active or not: members, superusers and staff."""
    rows = User.objects.filter(
        Q(membership__isnull=False) | Q(is_superuser=True) | Q(is_staff=True)
    ).select_related("membership")
    return list(rows.order_by("username"))


def active_owner_ids() -> set[int]:
    explicit = Membership.objects.filter(role=Role.OWNER, user__is_active=True)
    implicit = User.objects.filter(is_superuser=True, is_active=True, membership__isnull=True)
    return set(explicit.values_list("user_id", flat=True)) | set(
        implicit.values_list("id", flat=True)
    )


def _role_locked(user: User) -> str | None:
    """The user's role, read under a lock on the owners so two demotions cannot race."""
    list(User.objects.select_for_update().filter(pk__in=active_owner_ids()).values("id"))
    return role_name(user)


def role_name(user: User) -> str | None:
    """The account's role whether or not it is active (roles.role_of is None when not)."""
    membership = Membership.objects.filter(user=user).first()
    if membership is not None:
        return membership.role
    if user.is_superuser:
        return Role.OWNER
    return Role.AGENT if user.is_staff else None


def _require_another_owner(user: User) -> None:
    if not active_owner_ids() - {user.pk}:
        raise Conflict(LAST_OWNER)


def _set_role(user: User, role: str) -> Membership:
    membership, _ = Membership.objects.update_or_create(
        user=user,
        defaults={"role": role},
        create_defaults={"role": role, "created_at": clock.now()},
    )
    _sync_flags(user, role)
    return membership


def _sync_flags(user: User, role: str) -> None:
    owner = role == Role.OWNER
    if user.is_staff != owner or user.is_superuser != owner:
        user.is_staff = user.is_superuser = owner
        user.save(update_fields=["is_staff", "is_superuser"])


def _checked_role(role: str) -> str:
    if role not in Role.values:
        raise InvalidInput(f"unknown role {role!r}: one of {', '.join(Role.values)}")
    return role


def _validate_new_user(user: User) -> None:
    if not user.username:
        raise InvalidInput("a member needs a username")
    if User.objects.filter(username__iexact=user.username).exists():
        raise Conflict(f"the username {user.username!r} is taken")
    if user.email:
        try:
            validate_email(user.email)
        except ValidationError:
            raise InvalidInput(f"{user.email!r} is not an e-mail address") from None
    try:
        user.full_clean(exclude=["password"], validate_unique=False)
    except ValidationError as error:
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in error.message_dict.items())
        raise InvalidInput(problems) from None


def _validate_password(password: str, user: User) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise InvalidInput("the password is too weak: " + " ".join(error.messages)) from None
