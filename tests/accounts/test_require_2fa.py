"""With REQUIRE_2FA, a member without a confirmed app can only enrol or sign out."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.accounts.conftest import code_for, enrol, next_code, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _required(settings: Any) -> None:
    settings.REQUIRE_2FA = True


@pytest.mark.parametrize("name", ["web:inbox", "web:tickets", "web:audit", "admin:index"])
def test_it_sends_a_member_without_an_app_to_enrol(founder_client: Client, name: str) -> None:
    response = founder_client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"] == reverse("web:security")


def test_it_refuses_actions_too(founder_client: Client) -> None:
    response = founder_client.post(reverse("web:approve", kwargs={"pk": 1}), {"approval": "1"})
    assert response["Location"] == reverse("web:security")


def test_it_lets_the_member_enrol(founder_client: Client, founder: User) -> None:
    assert founder_client.get(reverse("web:security")).status_code == 200
    device = TOTPDevice.objects.get(user=founder)
    founder_client.post(reverse("web:security"), {"code": code_for(device)})
    assert founder_client.get(reverse("web:tickets")).status_code == 200


def test_it_lets_the_member_sign_out(founder_client: Client) -> None:
    founder_client.post(reverse("web:logout"))
    assert SESSION_KEY not in founder_client.session


def test_it_keeps_public_pages_public_for_a_member_without_an_app(
    founder_client: Client,
) -> None:
    url = reverse("web:set_password", kwargs={"uidb64": "MQ", "token": "no-such-token"})
    response = founder_client.get(url)
    assert response.status_code == 200
    assert b"This link no longer works" in response.content


def test_it_lets_an_enrolled_member_through_after_the_code(
    client: Client, founder: User, clock: time_machine.Traveller
) -> None:
    device, _ = enrol(founder)
    sign_in(client, "fiona")
    client.post(reverse("web:login_code"), {"code": next_code(clock, device)})
    assert client.get(reverse("web:tickets")).status_code == 200


def test_it_signs_out_a_session_that_never_gave_a_code(
    founder_client: Client, founder: User
) -> None:
    # force_login skips the code step: as a session older than the enrolment would.
    enrol(founder)
    response = founder_client.get(reverse("web:tickets"))
    assert response["Location"] == reverse("web:login")
    assert SESSION_KEY not in founder_client.session


def test_it_refuses_the_api_to_a_session_without_an_app(founder_client: Client) -> None:
    response = founder_client.get("/api/tickets")
    assert response.status_code == 403
    assert "two-factor" in response.json()["detail"]


def test_it_lets_the_api_serve_a_session_signed_in_with_a_code(
    client: Client, founder: User, clock: time_machine.Traveller
) -> None:
    device, _ = enrol(founder)
    sign_in(client, "fiona")
    client.post(reverse("web:login_code"), {"code": next_code(clock, device)})
    assert client.get("/api/tickets").status_code == 200


def test_it_refuses_the_api_to_a_session_that_never_gave_a_code(
    founder_client: Client, founder: User
) -> None:
    enrol(founder)
    assert founder_client.get("/api/tickets").status_code == 403


def test_it_does_not_apply_when_not_required(founder_client: Client, settings: Any) -> None:
    settings.REQUIRE_2FA = False
    assert founder_client.get(reverse("web:tickets")).status_code == 200
