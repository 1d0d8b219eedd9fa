"""The revenue pages with customers whose records cannot be counted: every page shows who is
left out and why, and everyone else's figures are computed (quarantine, not blackout)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from fractions import Fraction
from typing import Any

import pytest
import time_machine
from django.test import Client

from founderops.customers.models import Customer
from founderops.reports import revenue
from tests.revenue_world import NOW, monthly, person, store

pytestmark = pytest.mark.django_db

PAGES = [
    "/revenue/",
    "/revenue/cohorts/",
    "/revenue/forecast/",
    "/revenue/risk/",
    "/revenue/insights/",
    f"/revenue/movements/{NOW - timedelta(days=40):%Y-%m}/new/",
]
# `store` writes no FX rates: a customer billed in EUR has none, so cannot be counted.
ADA = person("cus_ink0001", "Ada Byron")
EVE = person("cus_ink0005", "Eve Moreau", currency="eur")
LEA = person("cus_ink0006", "Léa Roux", currency="eur")


@pytest.fixture(autouse=True)
def _live(settings: Any) -> Iterator[None]:
    settings.STRIPE_LIVEMODE = True
    with time_machine.travel(NOW, tick=False):
        yield


def _bill(*people: Any) -> None:
    start = NOW - timedelta(days=40)
    store(list(people), [monthly(p, start, "pro", NOW) for p in people], NOW)


def page(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.content.decode()


def notice(html: str) -> str:
    found = re.search(r'<section class="card monitor-error" id="left-out".*?</section>', html, re.S)
    assert found is not None, "no left-out notice"
    return found.group(0)


def test_it_shows_the_other_customers_mrr_beside_the_notice(founder_client: Client) -> None:
    _bill(ADA, EVE)
    html = page(founder_client, "/revenue/")
    figure = re.search(r'id="figure-mrr">\s*<dt>MRR</dt>\s*<dd class="figure-value">([^<]+)', html)
    assert figure is not None
    assert figure.group(1) == "$29"
    text = notice(html)
    assert "1 customer is left out of these figures:" in text
    assert "Eve Moreau" in text
    assert "no EURUSD rate on or before" in text


def test_it_counts_two_customers_left_out(founder_client: Client) -> None:
    _bill(ADA, EVE, LEA)
    text = notice(page(founder_client, "/revenue/"))
    assert "2 customers are left out of these figures:" in text
    assert text.count("no EURUSD rate on or before") == 2
    assert "Léa Roux" in text


@pytest.mark.parametrize("path", PAGES)
def test_it_shows_the_notice_on_every_page_with_figures(founder_client: Client, path: str) -> None:
    _bill(ADA, EVE)
    assert "Eve Moreau" in notice(page(founder_client, path))


def test_it_shows_no_notice_when_everyone_is_counted(founder_client: Client) -> None:
    _bill(ADA)
    assert 'id="left-out"' not in page(founder_client, "/revenue/")


def test_it_does_not_repeat_the_left_out_among_the_known_gaps(founder_client: Client) -> None:
    _bill(ADA, EVE)
    html = page(founder_client, "/revenue/")
    gaps = re.search(r'id="problems">.*?</section>', html, re.S)
    assert gaps is None or "Eve" not in gaps.group(0)


def test_it_keeps_the_snapshots_figures_without_the_left_out(founder_client: Client) -> None:
    _bill(ADA, EVE)
    snap = revenue.snapshot(True)
    assert snap is not None
    assert (snap.result.customers, snap.headline.mrr) == ([ADA.key], Fraction(2900))
    assert [item.who.name for item in snap.left_out] == ["Eve Moreau"]


def test_it_says_why_on_a_left_out_customers_page(founder_client: Client) -> None:
    _bill(ADA, EVE)
    customer = Customer.objects.get(email=EVE.email)
    html = page(founder_client, f"/customers/{customer.pk}/")
    assert 'id="customer-left-out"' in html
    assert "Left out of the revenue figures: no EURUSD rate on or before" in html


def test_it_says_why_when_every_customer_is_left_out(founder_client: Client) -> None:
    _bill(EVE)
    html = page(founder_client, "/revenue/")
    assert "The numbers cannot be computed" in html
    assert "1 customer is left out of these figures: Eve Moreau (no EURUSD rate" in html
