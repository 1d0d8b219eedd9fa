"""Two-factor login: enrol an app on the Security page, then sign in with its codes."""

from __future__ import annotations

import base64

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from founderops.accounts import two_factor
from founderops.core.models import AuditEvent
from tests.accounts.conftest import code_for, enrol, next_code, sign_in

pytestmark = pytest.mark.django_db


def test_it_shows_the_secret_as_a_qr_image_and_as_text(founder_client: Client) -> None:
    html = founder_client.get(reverse("web:security")).content.decode()
    device = TOTPDevice.objects.get(user__username="fiona")
    assert two_factor.secret_text(device) in html
    start = html.index('src="data:image/svg+xml;base64,') + len('src="data:image/svg+xml;base64,')
    svg = base64.b64decode(html[start : html.index('"', start)]).decode()
    assert svg.startswith("<svg")


def test_it_offers_the_same_secret_on_every_reload(founder_client: Client) -> None:
    founder_client.get(reverse("web:security"))
    founder_client.get(reverse("web:security"))
    assert TOTPDevice.objects.filter(user__username="fiona").count() == 1


def test_it_does_not_count_an_app_that_was_never_confirmed(
    founder_client: Client, founder: User
) -> None:
    founder_client.get(reverse("web:security"))
    assert not two_factor.is_enrolled(founder)
    founder_client.post(reverse("web:logout"))
    response = sign_in(founder_client, "fiona")
    assert response["Location"] == "/"


def test_it_refuses_a_wrong_code_at_enrolment(founder_client: Client, founder: User) -> None:
    founder_client.get(reverse("web:security"))
    response = founder_client.post(reverse("web:security"), {"code": "000000"})
    assert response.status_code == 400
    assert b"That code is not right" in response.content
    assert not two_factor.is_enrolled(founder)


def test_it_says_to_wait_when_the_right_code_comes_during_the_back_off_after_a_wrong_one(
    founder_client: Client, founder: User
) -> None:
    founder_client.get(reverse("web:security"))
    device = TOTPDevice.objects.get(user=founder)
    # The clock stands still (conftest): the right code comes within the wrong one's back-off.
    founder_client.post(reverse("web:security"), {"code": "000000"})
    response = founder_client.post(reverse("web:security"), {"code": code_for(device)})
    assert b"Wait a few seconds" in response.content
    assert b"That code is not right" not in response.content
    assert not two_factor.is_enrolled(founder)


def test_it_turns_two_factor_on_with_a_code_from_the_app(
    founder_client: Client, founder: User
) -> None:
    founder_client.get(reverse("web:security"))
    device = TOTPDevice.objects.get(user=founder)
    response = founder_client.post(reverse("web:security"), {"code": code_for(device)})
    assert response.status_code == 302
    assert two_factor.is_enrolled(founder)
    assert AuditEvent.objects.filter(action="accounts.two_factor_enabled").count() == 1


def test_it_shows_ten_recovery_codes_once(founder_client: Client, founder: User) -> None:
    founder_client.get(reverse("web:security"))
    device = TOTPDevice.objects.get(user=founder)
    founder_client.post(reverse("web:security"), {"code": code_for(device)})
    first = founder_client.get(reverse("web:security")).content.decode()
    codes = StaticToken.objects.filter(device__user=founder).values_list("token", flat=True)
    assert len(codes) == 10
    assert all(f"<code>{c}</code>" in first for c in codes)
    again = founder_client.get(reverse("web:security")).content.decode()
    assert not any(c in again for c in codes)
    assert "10 recovery codes left" in again


def test_it_keeps_the_enrolling_session_signed_in_as_verified(
    founder_client: Client, founder: User, settings: object
) -> None:
    founder_client.get(reverse("web:security"))
    device = TOTPDevice.objects.get(user=founder)
    founder_client.post(reverse("web:security"), {"code": code_for(device)})
    assert founder_client.session["otp_device_id"] == device.persistent_id


def test_it_asks_for_the_code_after_the_password(client: Client, founder: User) -> None:
    enrol(founder)
    response = sign_in(client, "fiona")
    assert response["Location"] == reverse("web:login_code")
    assert SESSION_KEY not in client.session
    assert client.get(reverse("web:inbox")).status_code == 302


def test_it_signs_in_with_the_password_and_a_code(
    client: Client, founder: User, clock: time_machine.Traveller
) -> None:
    device, _ = enrol(founder)
    sign_in(client, "fiona")
    response = client.post(reverse("web:login_code"), {"code": next_code(clock, device)})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session[SESSION_KEY] == str(founder.pk)
    assert client.session["otp_device_id"] == device.persistent_id


def test_it_takes_the_code_with_spaces_as_apps_show_it(
    client: Client, founder: User, clock: time_machine.Traveller
) -> None:
    device, _ = enrol(founder)
    sign_in(client, "fiona")
    code = next_code(clock, device)
    response = client.post(reverse("web:login_code"), {"code": f" {code[:3]} {code[3:]} "})
    assert response.status_code == 302


def test_it_goes_where_the_visitor_was_heading_after_the_code(
    client: Client, founder: User, clock: time_machine.Traveller
) -> None:
    device, _ = enrol(founder)
    client.post(
        reverse("web:login"),
        {"username": "fiona", "password": "correct horse battery", "next": "/tickets/"},
    )
    response = client.post(reverse("web:login_code"), {"code": next_code(clock, device)})
    assert response["Location"] == "/tickets/"


def test_it_refuses_a_wrong_code(
    client: Client, founder: User, clock: time_machine.Traveller
) -> None:
    enrol(founder)
    sign_in(client, "fiona")
    clock.shift(30)
    response = client.post(reverse("web:login_code"), {"code": "123456"})
    assert b"That code is not right" in response.content
    assert SESSION_KEY not in client.session


def test_it_refuses_a_code_that_was_already_used(client: Client, founder: User) -> None:
    device, _ = enrol(founder)
    sign_in(client, "fiona")
    # Same moment as the enrolment: the app still shows the code used there.
    response = client.post(reverse("web:login_code"), {"code": code_for(device)})
    assert SESSION_KEY not in client.session
    assert b"That code is not right" in response.content


def test_it_accepts_a_recovery_code_once_only(client: Client, founder: User) -> None:
    _, codes = enrol(founder)
    sign_in(client, "fiona")
    response = client.post(reverse("web:login_code"), {"code": codes[0]})
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(founder.pk)
    client.post(reverse("web:logout"))
    sign_in(client, "fiona")
    client.post(reverse("web:login_code"), {"code": codes[0]})
    assert SESSION_KEY not in client.session


def test_it_says_how_many_recovery_codes_are_left(client: Client, founder: User) -> None:
    _, codes = enrol(founder)
    sign_in(client, "fiona")
    response = client.post(reverse("web:login_code"), {"code": codes[3].upper()}, follow=True)
    assert b"You used a recovery code; 9 left" in response.content


def test_it_rotates_the_session_key_when_the_code_completes_sign_in(
    client: Client, founder: User, clock: time_machine.Traveller
) -> None:
    device, _ = enrol(founder)
    sign_in(client, "fiona")
    before = client.session.session_key
    client.post(reverse("web:login_code"), {"code": next_code(clock, device)})
    assert client.session.session_key != before


def test_it_forgets_a_password_step_left_waiting_too_long(
    client: Client, founder: User, clock: time_machine.Traveller
) -> None:
    device, _ = enrol(founder)
    sign_in(client, "fiona")
    clock.shift(301)
    response = client.post(reverse("web:login_code"), {"code": code_for(device)})
    assert response["Location"] == reverse("web:login")
    assert SESSION_KEY not in client.session


def test_it_sends_the_code_page_to_the_password_step_without_one(client: Client) -> None:
    response = client.get(reverse("web:login_code"))
    assert response["Location"] == reverse("web:login")


def test_it_stops_at_the_code_step_for_an_account_deactivated_meanwhile(
    client: Client, founder: User, clock: time_machine.Traveller
) -> None:
    device, _ = enrol(founder)
    sign_in(client, "fiona")
    User.objects.filter(pk=founder.pk).update(is_active=False)
    response = client.post(reverse("web:login_code"), {"code": next_code(clock, device)})
    assert response["Location"] == reverse("web:login")
    assert SESSION_KEY not in client.session


def test_it_makes_new_recovery_codes_for_a_current_app_code(
    founder_client: Client, founder: User, clock: time_machine.Traveller
) -> None:
    device, old = enrol(founder)
    founder_client.post(reverse("web:security_codes"), {"code": next_code(clock, device)})
    html = founder_client.get(reverse("web:security")).content.decode()
    new = list(StaticToken.objects.filter(device__user=founder).values_list("token", flat=True))
    assert len(new) == 10
    assert not set(new) & set(old)
    assert all(c in html for c in new)


def test_it_turns_two_factor_off_only_with_a_code(
    founder_client: Client, founder: User, clock: time_machine.Traveller
) -> None:
    device, _ = enrol(founder)
    founder_client.post(reverse("web:security_disable"), {"code": "000000"})
    assert two_factor.is_enrolled(founder)
    founder_client.post(reverse("web:security_disable"), {"code": next_code(clock, device)})
    assert not two_factor.is_enrolled(founder)
    assert AuditEvent.objects.filter(action="accounts.two_factor_disabled").count() == 1
