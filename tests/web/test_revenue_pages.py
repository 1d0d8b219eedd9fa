"""The revenue pages on the demo's Stripe history (loaded once for the module through the real
backfill): MRR and its movements, each movement's customers, cohorts, the forecast, the
customers at risk, and the customer page's revenue card."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from fractions import Fraction
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client

from founderops.accounts import services as accounts
from founderops.accounts.roles import Role
from founderops.customers.models import Customer
from founderops.reports import revenue, revenue_detail
from founderops.reports.revenue_text import dollars, whole_dollars
from founderops.revenue.engine import MOVEMENTS

# history and loaded_history are fixtures, used through pytestmark.
from tests.revenue_world import NOW, history, loaded_history  # noqa: F401

pytestmark = pytest.mark.usefixtures("history")


@pytest.fixture
def snap(settings: Any) -> revenue.Snapshot:
    settings.STRIPE_LIVEMODE = True
    found = revenue.snapshot(True)
    assert found is not None
    return found


def page(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.content.decode()


def month_of(days_ago: float) -> date:
    return (NOW - timedelta(days=days_ago)).date().replace(day=1)


def drill(client: Client, month: date, kind: str) -> str:
    return page(client, f"/revenue/movements/{month:%Y-%m}/{kind}/")


def test_it_shows_mrr_at_the_close_of_yesterday(
    founder_client: Client, snap: revenue.Snapshot
) -> None:
    html = page(founder_client, "/revenue/")
    figure = re.search(r'id="figure-mrr">\s*<dt>MRR</dt>\s*<dd class="figure-value">([^<]+)', html)
    assert figure is not None
    assert figure.group(1) == whole_dollars(snap.headline.mrr)
    assert snap.as_of == NOW.date() - timedelta(days=1)


def test_it_shows_every_headline_figure_and_the_ltv_formula(founder_client: Client) -> None:
    html = page(founder_client, "/revenue/")
    for key in ("arr", "arpa", "customers", "customer-churn", "nrr", "grr", "quick-ratio"):
        assert f'id="figure-{key}"' in html
    assert "LTV = ARPA x gross margin / customer churn rate = $" in html


def test_it_computes_ltv_with_the_founders_gross_margin(settings: Any) -> None:
    settings.STRIPE_LIVEMODE = True
    full = revenue.snapshot(True)
    assert full is not None
    assert full.headline.ltv is not None
    settings.REVENUE_GROSS_MARGIN = 0.8
    lower = revenue.snapshot(True)
    assert lower is not None
    assert lower.headline.ltv is not None
    assert full.headline.ltv.value is not None
    assert lower.headline.ltv.value == full.headline.ltv.value * Fraction(4, 5)


def test_it_names_the_gross_margin_used_for_ltv(founder_client: Client, settings: Any) -> None:
    settings.REVENUE_GROSS_MARGIN = 0.8
    assert "gross margin 80 %." in page(founder_client, "/revenue/")


def test_it_draws_a_bar_for_each_movement_of_each_month(
    founder_client: Client, snap: revenue.Snapshot
) -> None:
    html = page(founder_client, "/revenue/")
    expected = sum(1 for row in snap.rows for kind in MOVEMENTS if row.moves[kind])
    expected += sum(1 for row in snap.rows if row.fx)
    assert len(re.findall(r'<rect class="mv mv-', html)) == expected


def test_it_links_every_movement_cell_to_its_customers(
    founder_client: Client, snap: revenue.Snapshot
) -> None:
    html = page(founder_client, "/revenue/")
    row = snap.rows[snap.complete]
    for kind in MOVEMENTS:
        if row.moves[kind]:
            assert f'href="/revenue/movements/{row.month:%Y-%m}/{kind}/"' in html


@pytest.mark.parametrize("kind", [*MOVEMENTS, "fx"])
def test_it_adds_a_movements_customer_lines_up_to_the_tables_figure(
    snap: revenue.Snapshot, kind: str
) -> None:
    for index, row in enumerate(snap.rows):
        lines = revenue_detail.movement_lines(snap, index, kind)
        figure = row.fx if kind == "fx" else row.moves[kind]
        assert sum(line.amount for line in lines) == figure, (row.month, kind)


def test_it_shows_the_movements_total_on_the_drill_down_page(
    founder_client: Client, snap: revenue.Snapshot
) -> None:
    row = snap.rows[snap.complete]
    html = drill(founder_client, row.month, "new")
    total = re.search(r'id="movement-total"><strong>\+([^<]+)</strong>', html)
    assert total is not None
    assert total.group(1) == dollars(row.moves["new"])


def test_it_names_marcus_in_the_expansion_of_his_upgrade(founder_client: Client) -> None:
    html = drill(founder_client, month_of(151.2), "expansion")
    assert "Marcus Oyelaran" in html
    assert "+$50.00" in html  # Pro $29 to Team $79


def test_it_names_emma_in_the_reactivation_of_her_comeback(founder_client: Client) -> None:
    assert "Emma Clarke" in drill(founder_client, month_of(190.3), "reactivation")


def test_it_lists_sam_as_leaving_at_the_end_of_his_paid_period(founder_client: Client) -> None:
    assert "Sam Whitfield" in page(founder_client, "/revenue/risk/")


def test_it_keeps_sam_until_his_paid_period_ends(founder_client: Client) -> None:
    # He cancels at once, just before his ticket, with no credit: churn is recognised at the
    # end of the period he paid for (then refunded), as ChartMogul does, not in this month.
    assert "Sam Whitfield" not in drill(founder_client, month_of(2.2), "churn")


def test_it_lists_a_lines_invoices(founder_client: Client, snap: revenue.Snapshot) -> None:
    html = drill(founder_client, month_of(151.2), "expansion")
    assert re.search(r"<code title=\"in_ink\d+\">INK-\d{6}</code>", html)


@pytest.mark.parametrize(
    "path", ["/revenue/movements/2026-02/growth/", "/revenue/movements/1999-01/new/"]
)
def test_it_answers_404_for_an_unknown_movement_or_month(founder_client: Client, path: str) -> None:
    assert founder_client.get(path).status_code == 404


def test_it_answers_404_for_a_malformed_month(founder_client: Client) -> None:
    assert founder_client.get("/revenue/movements/february/new/").status_code == 404


def _fullwidth(text: str) -> str:
    """Digits as FULLWIDTH DIGIT ZERO (U+FF10) to NINE."""
    return "".join(chr(ord(c) - ord("0") + 0xFF10) if c.isdigit() else c for c in text)


@pytest.mark.parametrize(
    "write",
    [
        lambda month: f"{month.year}-{month.month}",  # 2026-1: no leading zero
        lambda month: f"{month:%Y}-{month:%m}".replace("-", "-0", 1),  # 2026-011
        lambda month: _fullwidth(f"{month:%Y}")[:1] + f"{month:%Y-%m}"[1:],
        lambda month: _fullwidth(f"{month:%Y-%m}"),
        lambda month: f"{month:%Y-%m} ",
    ],
    ids=["no-leading-zero", "three-digit-month", "one-fullwidth-digit", "fullwidth", "space"],
)
def test_it_answers_404_for_a_month_not_written_yyyy_mm(
    founder_client: Client, write: Callable[[date], str]
) -> None:
    month = month_of(40)
    assert drill(founder_client, month, "new")  # the canonical form answers
    response = founder_client.get(f"/revenue/movements/{quote(write(month))}/new/")
    assert response.status_code == 404


def test_it_shows_where_the_stripe_like_profile_disagrees(founder_client: Client) -> None:
    html = page(founder_client, "/revenue/?profile=stripe")
    assert "Stripe-like beside ChartMogul-like" in html
    assert "<code>discounts</code>: which discounts lower MRR" in html
    assert 'class="differs"' in html


def test_it_colours_the_cohort_heat_map_by_retention(
    founder_client: Client, snap: revenue.Snapshot
) -> None:
    html = page(founder_client, "/revenue/cohorts/")
    first = snap.cohorts[0]
    assert f"{first.month:%b %Y}" in html
    assert html.count('class="num heat-10"') >= 2 * len(snap.cohorts)  # month 0 is 100 %
    assert "Revenue kept" in html


def test_it_draws_the_forecast_with_its_bands_and_the_models_note(founder_client: Client) -> None:
    html = page(founder_client, "/revenue/forecast/")
    assert '<polygon class="band95"' in html
    assert '<polygon class="band80"' in html
    assert "A bridge forecast, built from your MRR movements" in html


def test_it_lists_customers_at_risk_with_their_reasons(
    founder_client: Client, snap: revenue.Snapshot
) -> None:
    html = page(founder_client, "/revenue/risk/")
    riskiest = snap.at_risk[0]
    assert riskiest.who.name in html
    assert riskiest.reasons[0] in html


def test_it_puts_isabel_among_those_leaving_at_period_end(founder_client: Client) -> None:
    html = page(founder_client, "/revenue/risk/")
    leaving = html.split('id="leaving"')[1].split("</section>")[0]
    assert "Isabel Romero" in leaving


def test_it_shows_a_customers_mrr_and_payments_on_their_page(founder_client: Client) -> None:
    priya = Customer.objects.get(email="priya@wanderlines.example.com")
    html = page(founder_client, f"/customers/{priya.pk}/")
    assert '<dd id="customer-mrr">$29.00</dd>' in html
    assert "Paid $29.00" in html


def test_it_shows_a_failed_payment_in_the_customers_timeline(founder_client: Client) -> None:
    aisha = Customer.objects.get(email="aisha.rahman@example.org")
    html = page(founder_client, f"/customers/{aisha.pk}/")
    assert "Payment failed: $12.00" in html
    assert "Your card was declined." in html


@pytest.mark.parametrize(
    "path",
    ["/revenue/", "/revenue/cohorts/", "/revenue/forecast/", "/revenue/risk/"],
)
def test_it_refuses_to_change_anything(founder_client: Client, path: str) -> None:
    assert founder_client.post(path).status_code == 405


def test_it_lets_a_viewer_look(client: Client) -> None:
    vera = accounts.add_member("vera", "vera@example.com", Role.VIEWER, "test", "pw-vera-123456")
    client.force_login(vera)
    assert client.get("/revenue/").status_code == 200


def test_it_schedules_the_churn_of_those_leaving_in_the_month_they_end(
    snap: revenue.Snapshot,
) -> None:
    [isabel] = [item for item in snap.leaving if item.who.name == "Isabel Romero"]
    assert isabel.ends is not None
    last = snap.rows[snap.complete].month
    ahead = (isabel.ends.year - last.year) * 12 + isabel.ends.month - last.month
    assert revenue.scheduled_churn(snap)[ahead - 1] >= isabel.mrr > 0


def test_it_forecasts_no_more_than_without_the_churn_already_scheduled(
    snap: revenue.Snapshot,
) -> None:
    unaware = revenue.mrr_forecast(snap)
    assert unaware is not None
    assert snap.forecast is not None
    assert snap.forecast.scheduled_total > 0
    pairs = zip(snap.forecast.points, unaware.points, strict=True)
    assert all(aware.mrr <= blind.mrr for aware, blind in pairs)


def test_it_says_how_much_scheduled_churn_the_forecast_includes(
    founder_client: Client, snap: revenue.Snapshot
) -> None:
    html = page(founder_client, "/revenue/forecast/")
    assert snap.forecast is not None
    total = whole_dollars(Fraction(snap.forecast.scheduled_total))
    assert f"Includes {total} of cancellations already scheduled" in html
