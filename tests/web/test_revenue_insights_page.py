"""The revenue insights page on the demo's Stripe history (loaded once for the module through
the real backfill): CAC and payback once spend is recorded, trial conversion, failed-payment
recovery, the cash-flow projection, segments, discount dependence and plan moves."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction
from typing import Any

import pytest
from django.test import Client

from founderops.reports import revenue
from founderops.reports.revenue_text import dollars
from founderops.revenue import spend

# history and loaded_history are fixtures, used through pytestmark.
from tests.revenue_world import NOW, history, loaded_history  # noqa: F401

pytestmark = pytest.mark.usefixtures("history")

PATH = "/revenue/insights/"
SECTIONS = [
    "insights-acquisition",
    "insights-trials",
    "insights-recovery",
    "insights-cashflow",
    "insights-segments",
    "segments-plan",
    "segments-tenure",
    "segments-size",
    "insights-discounts",
    "insights-plan-moves",
]


@pytest.fixture(autouse=True)
def _live(settings: Any) -> None:
    settings.STRIPE_LIVEMODE = True


def page(client: Client, path: str = PATH) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.content.decode()


def last_complete_month() -> date:
    return (NOW - timedelta(days=40)).date().replace(day=1)


def test_it_sends_visitors_to_the_login_page(client: Client) -> None:
    response = client.get(PATH)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_it_renders_every_section_on_the_demo_history(founder_client: Client) -> None:
    html = page(founder_client)
    missing = [name for name in SECTIONS if f'id="{name}"' not in html]
    assert missing == []
    assert "No customer has changed plan yet" not in html
    assert "start after two complete months" not in html


def test_it_lists_tenure_bands_youngest_first(founder_client: Client) -> None:
    html = page(founder_client)
    tenure = html[html.index('id="segments-tenure"') : html.index('id="segments-size"')]
    assert tenure.index("0-2 months") < tenure.index("3-11 months") < tenure.index("12-23 months")


def test_it_is_linked_from_the_other_revenue_pages(founder_client: Client) -> None:
    html = page(founder_client, "/revenue/?profile=stripe")
    assert '<a href="/revenue/insights/?profile=stripe">Insights</a>' in html


def test_it_says_how_to_record_spend_before_any_is_recorded(founder_client: Client) -> None:
    html = page(founder_client)
    assert 'id="acquisition-empty"' in html
    assert "<code>founderops revenue spend 2026-03 1250.00 --channel ads</code>" in html


def test_it_shows_cac_after_spend_is_recorded(founder_client: Client) -> None:
    month = last_complete_month()
    spend.record_spend(month, 125_000, "USD", "ads", "test")
    snap = revenue.snapshot(True)
    assert snap is not None
    row = next(r for r in snap.rows if r.month == month)
    assert row.counts["new"] > 0
    html = page(founder_client)
    assert 'id="acquisition-empty"' not in html
    cac = dollars(Fraction(125_000, row.counts["new"]))
    assert f"<strong>{cac}</strong>" in html
    assert "CAC = spend / new customers; payback = CAC / (new MRR" in html


def test_it_shows_why_cac_cannot_be_computed_for_a_currency_without_a_rate(
    founder_client: Client,
) -> None:
    spend.record_spend(last_complete_month(), 90_000, "CHF", "ads", "test")
    html = page(founder_client)
    assert 'id="acquisition-problem"' in html
    assert "no CHFUSD rate on or before" in html
    assert 'id="insights-trials"' in html


def test_it_explains_how_to_connect_stripe_without_billing_data(founder_client: Client) -> None:
    html = page(founder_client, PATH + "?mode=test")
    assert "No billing data in test mode yet" in html
    assert "<code>founderops stripe connect</code>" in html
