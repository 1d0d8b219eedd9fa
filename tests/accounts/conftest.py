"""The team: Fiona owns the installation, Arthur is an agent, Vera may only look.

Time is frozen for every test here (sign-in limits, session clocks and TOTP codes all read
it), at the start of a rate-limit window so that "the window ends" is a known moment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from founderops.accounts import services, two_factor
from founderops.accounts.roles import Role

PASSWORD = "correct horse battery"
START = "2026-03-02T09:00:00Z"


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def agent(db: None) -> User:
    """Arthur answers tickets."""
    return services.add_member("arthur", "arthur@example.com", Role.AGENT, "test", PASSWORD)


@pytest.fixture
def viewer(db: None) -> User:
    """Vera reads along."""
    return services.add_member("vera", "vera@example.com", Role.VIEWER, "test", PASSWORD)


def code_for(device: TOTPDevice) -> str:
    """What the founder's authenticator app shows right now."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def enrol(user: User) -> tuple[TOTPDevice, list[str]]:
    """Set up two-factor login as the Security page does; the app and the recovery codes."""
    device = two_factor.pending_device(user)
    codes = services.enable_two_factor(user, code_for(device))
    assert codes is not None
    device.refresh_from_db()
    return device, codes


def next_code(clock: time_machine.Traveller, device: TOTPDevice) -> str:
    """The app's next code: a code already used is never accepted again."""
    clock.shift(30)
    return code_for(device)


def sign_in(client: Client, username: str, password: str = PASSWORD, **extra: Any) -> Any:
    return client.post(reverse("web:login"), {"username": username, "password": password}, **extra)


def csrf_from(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)
