"""Sessions end: after SESSION_IDLE_SECONDS without a request, and SESSION_AGE_SECONDS after
sign-in however busy; the session key changes at sign-in."""

from __future__ import annotations

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from founderops.core.models import AuditEvent
from tests.accounts.conftest import sign_in

pytestmark = pytest.mark.django_db


def test_it_rotates_the_session_key_at_sign_in(client: Client, founder: User) -> None:
    client.get(reverse("web:login"))
    client.session.save()
    before = client.session.session_key
    sign_in(client, "fiona")
    assert client.session.session_key != before
    assert client.session[SESSION_KEY] == str(founder.pk)


def test_it_signs_out_a_session_left_idle(
    client: Client, founder: User, clock: time_machine.Traveller
) -> None:
    sign_in(client, "fiona")
    clock.shift(settings.SESSION_IDLE_SECONDS + 1)
    response = client.get(reverse("web:tickets"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))
    assert SESSION_KEY not in client.session


def test_it_keeps_a_session_in_use(
    client: Client, founder: User, clock: time_machine.Traveller
) -> None:
    sign_in(client, "fiona")
    for _ in range(3):
        clock.shift(settings.SESSION_IDLE_SECONDS - 60)
        assert client.get(reverse("web:tickets")).status_code == 200


def test_it_keeps_a_session_up_to_the_idle_limit(
    client: Client, founder: User, clock: time_machine.Traveller
) -> None:
    sign_in(client, "fiona")
    clock.shift(settings.SESSION_IDLE_SECONDS)
    assert client.get(reverse("web:tickets")).status_code == 200


def test_it_says_why_the_login_page_shows_after_idling(
    client: Client, founder: User, clock: time_machine.Traveller
) -> None:
    sign_in(client, "fiona")
    clock.shift(settings.SESSION_IDLE_SECONDS + 1)
    response = client.get(reverse("web:tickets"), follow=True)
    assert b"You were signed out after a while without activity" in response.content


def test_it_ends_a_busy_session_at_its_absolute_age(
    client: Client, founder: User, clock: time_machine.Traveller
) -> None:
    sign_in(client, "fiona")
    step = settings.SESSION_IDLE_SECONDS // 2
    elapsed = 0
    while elapsed + step < settings.SESSION_COOKIE_AGE:
        clock.shift(step)
        elapsed += step
        assert client.get(reverse("web:tickets")).status_code == 200
    clock.shift(settings.SESSION_COOKIE_AGE - elapsed + 1)
    assert client.get(reverse("web:tickets")).status_code == 302


def test_it_fixes_the_session_expiry_at_sign_in(client: Client, founder: User) -> None:
    sign_in(client, "fiona")
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    assert "_session_expiry" in client.session


def test_it_times_out_a_session_that_did_not_sign_in_through_the_form(
    founder_client: Client, clock: time_machine.Traveller
) -> None:
    assert founder_client.get(reverse("web:tickets")).status_code == 200
    clock.shift(settings.SESSION_IDLE_SECONDS + 1)
    assert founder_client.get(reverse("web:tickets")).status_code == 302


def test_it_audits_an_expired_session(
    client: Client, founder: User, clock: time_machine.Traveller
) -> None:
    sign_in(client, "fiona")
    clock.shift(settings.SESSION_IDLE_SECONDS + 1)
    client.get(reverse("web:tickets"))
    event = AuditEvent.objects.get(action="accounts.session_expired")
    assert (event.actor, event.outcome) == ("user:fiona", "idle")


def test_it_writes_the_session_at_most_once_a_minute_for_activity(
    client: Client, founder: User, clock: time_machine.Traveller
) -> None:
    sign_in(client, "fiona")
    seen = client.session["accounts.seen_at"]
    clock.shift(30)
    client.get(reverse("web:tickets"))
    assert client.session["accounts.seen_at"] == seen
    clock.shift(30)
    client.get(reverse("web:tickets"))
    assert client.session["accounts.seen_at"] == seen + 60
