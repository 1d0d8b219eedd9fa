"""Two-factor login: one authenticator app (TOTP) per account, plus ten recovery codes.

django-otp keeps the devices. A TOTP device counts only once it is confirmed with a code
from the app, so a half-finished enrolment never locks anyone out. Recovery codes are a
django-otp static device: each one works once and is deleted when used.
"""

from __future__ import annotations

import re
from base64 import b32encode
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, User
from django.db import transaction
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from founderops.core.errors import InvalidInput

RECOVERY_CODES = 10
APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"
_TOTP_SHAPE = re.compile(r"\d{6}")
# StaticToken.random_token(): 8 lower-case base32 characters.
_RECOVERY_SHAPE = re.compile(r"[a-z2-7]{8}")


class TooSoon(InvalidInput):
    """django-otp's back-off after a wrong code: until it ends, even the right code fails."""


@dataclass(frozen=True)
class Check:
    """What a code did: the device that accepted it, or why none did."""

    device: Device | None
    method: str = ""  # "app" or "recovery"
    throttled: bool = False


def app_device(user: AbstractBaseUser) -> TOTPDevice | None:
    """The account's confirmed authenticator app, if it has one."""
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).first()


def is_enrolled(user: AbstractBaseUser) -> bool:
    return bool(TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists())


def enrolled_user_ids() -> set[int]:
    return set(TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True))


def recovery_codes_left(user: AbstractBaseUser) -> int:
    return int(StaticToken.objects.filter(device__user_id=user.pk).count())


def pending_device(user: User) -> TOTPDevice:
    """The unconfirmed device being enrolled; the same one (and secret) on every reload."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)
    return device


def secret_text(device: TOTPDevice) -> str:
    """The secret as an authenticator app takes it typed in: base32, in groups of four."""
    raw = b32encode(device.bin_key).decode()
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def normalise(code: str) -> str:
    """What people type: spaces and dashes from copying, capitals from reading aloud."""
    return re.sub(r"[\s-]", "", code).lower()


def confirm(device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm the app with a code from it; the new recovery codes, or None if it was wrong."""
    code = normalise(code)
    if not _TOTP_SHAPE.fullmatch(code):
        return None
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        if device.confirmed:
            return None
        allowed, _ = device.verify_is_allowed()
        if not allowed:
            # Said as such: "not right" would send the founder hunting for a typo.
            raise TooSoon("wait a few seconds, then enter the newest code from the app")
        if not device.verify_token(code):
            return None
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        # One app per account: an older confirmed one (re-enrolment) stops counting.
        TOTPDevice.objects.filter(user_id=device.user_id).exclude(pk=device.pk).delete()
        return new_recovery_codes(device.user_id)


def new_recovery_codes(user_id: int) -> list[str]:
    """Ten fresh codes; the old ones stop working."""
    with transaction.atomic():
        StaticDevice.objects.filter(user_id=user_id).delete()
        device = StaticDevice.objects.create(user_id=user_id, name=RECOVERY_DEVICE_NAME)
        codes = _distinct_codes()
        StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    return codes


def _distinct_codes() -> list[str]:
    codes: set[str] = set()
    while len(codes) < RECOVERY_CODES:
        codes.add(StaticToken.random_token())
    return sorted(codes)


def verify(user: AbstractBaseUser, code: str) -> Check:
    """Check a code from the app (6 digits) or a recovery code (8 letters and digits).

    The code's shape picks the device, so a recovery code never counts as a wrong app
    code in django-otp's own back-off (and the reverse).
    """
    code = normalise(code)
    if _TOTP_SHAPE.fullmatch(code):
        return _verify_app(user, code)
    if _RECOVERY_SHAPE.fullmatch(code):
        return _verify_recovery(user, code)
    return Check(None)


def _verify_app(user: AbstractBaseUser, code: str) -> Check:
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update().filter(user_id=user.pk, confirmed=True).first()
        )
        if device is None:
            return Check(None)
        allowed, _ = device.verify_is_allowed()
        if not allowed:
            return Check(None, throttled=True)
        return Check(device, "app") if device.verify_token(code) else Check(None)


def _verify_recovery(user: AbstractBaseUser, code: str) -> Check:
    with transaction.atomic():
        device = StaticDevice.objects.select_for_update().filter(user_id=user.pk).first()
        if device is None:
            return Check(None)
        # verify_token deletes the code it accepts: each works once.
        return Check(device, "recovery") if device.verify_token(code) else Check(None)


def remove_all(user: AbstractBaseUser) -> int:
    """Delete the account's app and recovery codes; how many devices went."""
    apps = TOTPDevice.objects.filter(user_id=user.pk)
    codes = StaticDevice.objects.filter(user_id=user.pk)
    with transaction.atomic():
        removed = int(apps.count() + codes.count())
        apps.delete()
        codes.delete()
    return removed
