"""Sign-in limits: LOGIN_FAILURES_LIMIT failures per window lock the account name and the
address, in both steps, without saying whether the account exists; all of it audited."""

from __future__ import annotations

import json
import re

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import User
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from founderops.accounts import signin
from founderops.core.models import AuditEvent
from tests.accounts.conftest import PASSWORD, enrol, next_code, sign_in

pytestmark = pytest.mark.django_db
LOCKED = b"Too many failed sign-ins; try again in 15 minutes."


def page(response: HttpResponse) -> str:
    """The page as text, without its (per-request) CSRF token."""
    return re.sub(r"[A-Za-z0-9]{64}", "", response.content.decode())


def fail_times(client: Client, username: str, times: int, **extra: str) -> None:
    for _ in range(times):
        sign_in(client, username, "wrong password", **extra)


def test_it_locks_an_account_name_after_the_limit(client: Client, founder: User) -> None:
    fail_times(client, "fiona", settings.LOGIN_FAILURES_LIMIT)
    response = sign_in(client, "fiona")
    assert LOCKED in response.content
    assert SESSION_KEY not in client.session


def test_it_lets_the_last_allowed_attempt_through(client: Client, founder: User) -> None:
    fail_times(client, "fiona", settings.LOGIN_FAILURES_LIMIT - 1)
    assert sign_in(client, "fiona").status_code == 302


def test_it_says_so_on_the_attempt_that_engages_the_lock(client: Client, founder: User) -> None:
    fail_times(client, "fiona", settings.LOGIN_FAILURES_LIMIT - 1)
    response = sign_in(client, "fiona", "wrong password")
    assert LOCKED in response.content


def test_it_answers_a_name_that_is_no_account_exactly_alike(client: Client, founder: User) -> None:
    fail_times(client, "fiona", settings.LOGIN_FAILURES_LIMIT, REMOTE_ADDR="10.0.0.1")
    fail_times(client, "nobody", settings.LOGIN_FAILURES_LIMIT, REMOTE_ADDR="10.0.0.2")
    real = page(sign_in(client, "fiona", REMOTE_ADDR="10.0.0.3"))
    made_up = page(sign_in(client, "nobody", REMOTE_ADDR="10.0.0.4"))
    assert LOCKED.decode() in real
    assert real.replace("fiona", "nobody") == made_up


def test_it_locks_the_name_from_every_address(client: Client, founder: User) -> None:
    for n in range(settings.LOGIN_FAILURES_LIMIT):
        sign_in(client, "fiona", "wrong password", REMOTE_ADDR=f"10.0.0.{n}")
    assert LOCKED in sign_in(client, "fiona", REMOTE_ADDR="192.0.2.7").content


def test_it_does_not_lock_a_teammate_out_for_anothers_typos(
    client: Client, founder: User, agent: User
) -> None:
    fail_times(client, "arthur", settings.LOGIN_FAILURES_LIMIT, REMOTE_ADDR="203.0.113.9")
    assert sign_in(client, "fiona", REMOTE_ADDR="203.0.113.9").status_code == 302


def test_it_locks_an_address_that_tries_many_names(
    client: Client, founder: User, agent: User
) -> None:
    for n in range(settings.LOGIN_FAILURES_LIMIT * signin.ADDRESS_FACTOR):
        sign_in(client, f"guess{n}", "wrong password", REMOTE_ADDR="203.0.113.9")
    assert LOCKED in sign_in(client, "fiona", REMOTE_ADDR="203.0.113.9").content
    assert sign_in(client, "arthur", REMOTE_ADDR="198.51.100.1").status_code == 302


def test_it_unlocks_when_the_window_ends(
    client: Client, founder: User, clock: time_machine.Traveller
) -> None:
    fail_times(client, "fiona", settings.LOGIN_FAILURES_LIMIT)
    clock.shift(settings.LOGIN_LOCKOUT_SECONDS - 1)
    assert b"Too many failed sign-ins; try again in 1 minute." in sign_in(client, "fiona").content
    clock.shift(1)
    assert sign_in(client, "fiona").status_code == 302


def test_it_forgives_the_account_its_failures_after_a_sign_in(
    client: Client, founder: User
) -> None:
    fail_times(client, "fiona", settings.LOGIN_FAILURES_LIMIT - 1)
    sign_in(client, "fiona")
    client.post(reverse("web:logout"))
    fail_times(client, "fiona", settings.LOGIN_FAILURES_LIMIT - 1, REMOTE_ADDR="10.9.9.9")
    assert sign_in(client, "fiona", REMOTE_ADDR="10.9.9.9").status_code == 302


def test_it_counts_wrong_codes_against_the_same_limit(
    client: Client, founder: User, clock: time_machine.Traveller
) -> None:
    device, _ = enrol(founder)
    sign_in(client, "fiona")
    for _ in range(settings.LOGIN_FAILURES_LIMIT - 1):
        clock.shift(30)  # past django-otp's own back-off between tries
        client.post(reverse("web:login_code"), {"code": "000000"})
    clock.shift(30)
    response = client.post(reverse("web:login_code"), {"code": "000000"})
    assert LOCKED.replace(b"15 minutes", b"13 minutes") in response.content
    response = client.post(reverse("web:login_code"), {"code": next_code(clock, device)})
    assert b"Too many failed sign-ins" in response.content
    assert SESSION_KEY not in client.session


def test_it_refuses_the_password_step_once_codes_locked_the_account(
    client: Client, founder: User, clock: time_machine.Traveller
) -> None:
    enrol(founder)
    sign_in(client, "fiona")
    for _ in range(settings.LOGIN_FAILURES_LIMIT):
        clock.shift(30)
        client.post(reverse("web:login_code"), {"code": "000000"})
    elsewhere = sign_in(Client(), "fiona", REMOTE_ADDR="192.0.2.99")
    assert b"Too many failed sign-ins" in elsewhere.content


def test_it_audits_failures_and_the_lock_without_the_password(
    client: Client, founder: User
) -> None:
    fail_times(client, "fiona", settings.LOGIN_FAILURES_LIMIT)
    failed = AuditEvent.objects.filter(action="accounts.login_failed")
    locked = AuditEvent.objects.get(action="accounts.login_locked")
    assert failed.count() == settings.LOGIN_FAILURES_LIMIT
    assert locked.details["account"] == "fiona"
    assert locked.details["by"] == ["account"]
    assert (locked.subject_type, locked.subject_id) == ("user", str(founder.pk))
    trail = json.dumps([e.as_record() for e in AuditEvent.objects.all()], default=str)
    assert "wrong password" not in trail


def test_it_never_writes_a_name_that_is_no_account_into_the_trail(client: Client) -> None:
    # People type their password into the name field; that must not land in the trail.
    sign_in(client, "hunter2-my-password", "x")
    event = AuditEvent.objects.get(action="accounts.login_failed")
    assert event.details["account"] == "(no such account)"
    assert "hunter2" not in json.dumps(event.as_record(), default=str)


def test_it_audits_a_sign_in(client: Client, founder: User) -> None:
    sign_in(client, "fiona", PASSWORD, REMOTE_ADDR="192.0.2.10")
    event = AuditEvent.objects.get(action="accounts.login")
    assert event.actor == "user:fiona"
    assert event.details == {"ip": "192.0.2.10", "second_factor": "none"}


def test_it_audits_which_second_factor_signed_in(client: Client, founder: User) -> None:
    _, codes = enrol(founder)
    sign_in(client, "fiona")
    client.post(reverse("web:login_code"), {"code": codes[0]})
    event = AuditEvent.objects.get(action="accounts.login")
    assert event.details["second_factor"] == "recovery"
