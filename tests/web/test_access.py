"""Only the founder's staff accounts reach the cockpit; everyone else meets the login page."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.web.cast import PASSWORD

pytestmark = pytest.mark.django_db

PAGES = [
    ("web:home", {}),
    ("web:inbox", {}),
    ("web:tickets", {}),
    ("web:ticket", {"pk": 1}),
    ("web:knowledge", {}),
    ("web:audit", {}),
    ("web:audit_export", {}),
]
ACTIONS = ["web:approve", "web:reject", "web:relabel"]


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_it_sends_anonymous_visitors_to_the_login_page(
    client: Client, name: str, kwargs: dict[str, int]
) -> None:
    url = reverse(name, kwargs=kwargs)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('web:login')}?next={url}"


@pytest.mark.parametrize("name", ACTIONS)
def test_it_sends_anonymous_posts_to_the_login_page(client: Client, name: str) -> None:
    response = client.post(reverse(name, kwargs={"pk": 1}), {"approval": "1"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


@pytest.mark.parametrize(("name", "kwargs"), PAGES)
def test_it_refuses_accounts_that_are_not_staff(
    client: Client, name: str, kwargs: dict[str, int]
) -> None:
    client.force_login(User.objects.create_user("sam", "sam@example.com", PASSWORD))
    assert client.get(reverse(name, kwargs=kwargs)).status_code == 403


def test_it_signs_the_founder_in_through_the_login_form(client: Client, founder: User) -> None:
    response = client.post(reverse("web:login"), {"username": "fiona", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("web:home")


def test_it_shows_a_wrong_password_on_the_login_page(client: Client, founder: User) -> None:
    response = client.post(reverse("web:login"), {"username": "fiona", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_it_signs_the_founder_out(founder_client: Client) -> None:
    founder_client.post(reverse("web:logout"))
    assert founder_client.get(reverse("web:inbox")).status_code == 302


def test_it_serves_its_own_assets_and_no_cdn(founder_client: Client) -> None:
    html = founder_client.get(reverse("web:inbox")).content.decode()
    assert '/static/web/vendor/htmx.min.js"' in html
    assert '/static/web/app.css"' in html
    assert "https://" not in html
