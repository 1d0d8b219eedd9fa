"""The briefing's Revenue section on four customers whose Monday 9 March 2026 is known:
Ada renews Pro ($29), Bob starts Creator ($12), Cy's Team plan ($79) ends, and Dee's Creator
renewal ($12) fails in the evening. The briefing is at 07:30 Paris on Tuesday 10 March."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from founderops.cli.demo_revenue import cancel_at_end
from founderops.reports import briefing, revenue_section
from founderops.reports.briefing import Window
from founderops.revenue.models import Invoice
from tests.reports.conftest import BRIEFING_AT, PARIS
from tests.revenue_world import monthly, person, store

pytestmark = pytest.mark.django_db

ADA, BOB = person("cus_ink0001", "Ada Byron"), person("cus_ink0002", "Bob Stone")
CY, DEE = person("cus_ink0003", "Cy Twombly"), person("cus_ink0004", "Dee Dunn")


def at(day: int, hour: int, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def monday(settings: Any) -> Iterator[None]:
    settings.STRIPE_LIVEMODE = True
    with time_machine.travel(BRIEFING_AT, tick=False):
        cy = monthly(CY, at(9, 8, month=1), "team", BRIEFING_AT)
        cancel_at_end(cy, at(20, 12, month=2))
        dee = monthly(DEE, at(9, 19, month=1), "creator", BRIEFING_AT)
        dee.periods[-1].failures = 1
        lives = [
            monthly(ADA, at(9, 10, month=1), "pro", BRIEFING_AT),
            monthly(BOB, at(9, 12), "creator", BRIEFING_AT),
            cy,
            dee,
        ]
        store([ADA, BOB, CY, DEE], lives, BRIEFING_AT)
        yield


def lines(window: Window) -> list[str]:
    return revenue_section.render(window).splitlines()


def test_it_gives_mrr_at_the_close_of_the_last_full_day(monday: None, window: Window) -> None:
    assert lines(window)[0] == (
        "- **MRR:** $53.00 at the close of Mon 9 Mar (UTC) · ARR $636 · 3 paying customers"
    )


def test_it_lists_the_days_movements_and_their_net(monday: None, window: Window) -> None:
    assert lines(window)[1] == (
        "- **Movements on Mon 9 Mar:** new +$12.00 (1) · churn \N{MINUS SIGN}$79.00 (1)"
        " · net \N{MINUS SIGN}$67.00"
    )


def test_it_names_the_customer_most_at_risk_with_the_reasons(monday: None, window: Window) -> None:
    risk = next(line for line in lines(window) if line.startswith("- **Most at risk:**"))
    assert risk.startswith("- **Most at risk:** Dee Dunn ")
    assert "1 failed payment in 90 days" in risk.split(";")[0]


def test_it_counts_failed_payments_in_the_window_and_those_still_unpaid(
    monday: None, window: Window
) -> None:
    number = Invoice.objects.get(customer__stripe_id=DEE.key, status="open").number
    assert lines(window)[-1] == (
        f"- **Failed payments:** 1 in the window: Dee Dunn $12.00 (invoice {number})"
        " · 1 invoice still unpaid after a failed payment (Dee Dunn $12.00)"
    )


def test_it_puts_the_section_after_support_in_the_morning_briefing(
    monday: None, window: Window
) -> None:
    page = briefing.morning(window).markdown
    assert page.index("## Support") < page.index("## Revenue\n\n- **MRR:** $53.00")


@time_machine.travel(BRIEFING_AT, tick=False)
def test_it_leaves_the_section_out_without_billing_data(window: Window) -> None:
    assert "## Revenue" not in briefing.morning(window).markdown


def test_it_says_when_a_day_had_no_movement(monday: None) -> None:
    later = Window.last_24_hours(at(3, 6), PARIS)
    assert lines(later)[1] == "- **Movements on Mon 2 Mar:** none"


EVE = person("cus_ink0005", "Eve Moreau", currency="eur")


@pytest.fixture
def monday_with_eve(settings: Any) -> Iterator[None]:
    """Ada's Pro from January, and Eve in EUR with no EUR rate stored: Eve cannot be counted."""
    settings.STRIPE_LIVEMODE = True
    with time_machine.travel(BRIEFING_AT, tick=False):
        lives = [
            monthly(ADA, at(9, 10, month=1), "pro", BRIEFING_AT),
            monthly(EVE, at(9, 10, month=1), "pro", BRIEFING_AT),
        ]
        store([ADA, EVE], lives, BRIEFING_AT)
        yield


def test_it_names_a_customer_left_out_right_under_mrr(
    monday_with_eve: None, window: Window
) -> None:
    shown = lines(window)
    assert shown[0].startswith("- **MRR:** $29.00 at the close of Mon 9 Mar (UTC)")
    assert shown[2].startswith(
        "- **Left out:** 1 customer is left out of these figures: Eve Moreau "
        "(no EURUSD rate on or before 2026-01-09 (invoice "
    )


def test_it_adds_no_left_out_line_when_everyone_is_counted(monday: None, window: Window) -> None:
    assert not any(line.startswith("- **Left out:**") for line in lines(window))


@pytest.fixture
def only_ada(settings: Any) -> Iterator[None]:
    settings.STRIPE_LIVEMODE = True
    with time_machine.travel(BRIEFING_AT, tick=False):
        store([ADA], [monthly(ADA, at(9, 10, month=1), "pro", BRIEFING_AT)], BRIEFING_AT)
        yield


def test_it_says_one_paying_customer_in_the_singular(only_ada: None, window: Window) -> None:
    assert lines(window)[0].endswith(" · 1 paying customer")
