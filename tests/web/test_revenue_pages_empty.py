"""The revenue pages before any billing data, with data in the other mode only, with records
the engine refuses, and for visitors who are not signed in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from founderops.customers.models import Customer
from founderops.revenue.models import FxRate
from tests.revenue_world import NOW, monthly, person, store

pytestmark = pytest.mark.django_db

PAGES = ["/revenue/", "/revenue/cohorts/", "/revenue/forecast/", "/revenue/risk/"]
ALL_PAGES = [*PAGES, "/revenue/movements/2026-02/new/"]


@pytest.fixture(autouse=True)
def _live(settings: Any) -> Iterator[None]:
    settings.STRIPE_LIVEMODE = True
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.mark.parametrize("path", ALL_PAGES)
def test_it_sends_visitors_to_the_login_page(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("path", ALL_PAGES)
def test_it_explains_how_to_connect_stripe_without_billing_data(
    founder_client: Client, path: str
) -> None:
    html = founder_client.get(path).content.decode()
    assert "No billing data in live mode yet" in html
    assert "<code>founderops stripe connect</code>" in html
    assert "<code>founderops stripe sync</code>" in html


def test_it_links_the_nav_to_the_revenue_page(founder_client: Client) -> None:
    html = founder_client.get("/").content.decode()
    assert '<a href="/revenue/">Revenue</a>' in html


def test_it_points_to_the_other_mode_when_only_it_has_data(
    founder_client: Client, settings: Any
) -> None:
    ada = person("cus_ink0001", "Ada Byron")
    store([ada], [monthly(ada, NOW - timedelta(days=40), "pro", NOW)], NOW)
    settings.STRIPE_LIVEMODE = False
    html = founder_client.get("/revenue/").content.decode()
    assert 'id="other-mode"' in html
    assert "show live mode" in html


def test_it_says_why_when_the_numbers_cannot_be_computed(founder_client: Client) -> None:
    eve = person("cus_ink0005", "Eve Moreau", currency="eur")
    store([eve], [monthly(eve, NOW - timedelta(days=40), "pro", NOW)], NOW)
    FxRate.objects.all().delete()
    html = founder_client.get("/revenue/").content.decode()
    assert "The numbers cannot be computed" in html
    assert "no EURUSD rate on or before" in html


def test_it_shows_no_revenue_card_for_a_customer_without_billing(founder_client: Client) -> None:
    customer = Customer.objects.create(name="Zed", email="zed@example.com", created_at=NOW)
    html = founder_client.get(f"/customers/{customer.pk}/").content.decode()
    assert 'id="customer-revenue"' not in html


def test_it_waits_for_a_full_day_of_billing(founder_client: Client) -> None:
    ada = person("cus_ink0001", "Ada Byron")
    store([ada], [monthly(ada, NOW - timedelta(hours=2), "pro", NOW)], NOW)
    html = founder_client.get("/revenue/").content.decode()
    assert "No billing data in live mode yet" in html
