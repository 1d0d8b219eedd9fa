"""Billing intervals beyond month, quarter and year: each becomes MRR exactly in twelfths of a
minor unit (a week is 52 to the year, a day 365), or half-up to that unit when the interval
does not divide a year in twelfths (every 5 months, 3 weeks, 2 years)."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from founderops.revenue import billing, book, engine
from founderops.revenue.billing import RevenueInputError, cycle, interval_of
from tests.revenue.ledgers import Books, dollars


def _mrr(interval: str, amount: int) -> Fraction:
    """The MRR at the end of January of a subscription billed from January 1st on."""
    books = Books("2025-01", "2025-01")
    count = 40 if cycle(interval).unit == "day" else 6
    books.bill("A", "2025-01-01", amount, interval=interval, count=count)
    return engine.compute(books.ledger).month_end(0)[0]


def test_it_counts_a_weekly_price_at_52_weeks_a_year() -> None:
    assert _mrr("week", 500) == Fraction(500 * 52, 12)


def test_it_counts_a_fortnightly_price_at_26_a_year() -> None:
    assert _mrr("2 weeks", 1000) == Fraction(1000 * 26, 12)


def test_it_counts_a_four_weekly_price_at_13_a_year() -> None:
    assert _mrr("4 weeks", 1200) == 1300


def test_it_counts_a_daily_price_at_365_days_a_year() -> None:
    assert _mrr("day", 100) == Fraction(100 * 365, 12)


def test_it_counts_every_two_months_as_half_a_month_each() -> None:
    assert _mrr("2 months", 6000) == 3000


def test_it_counts_every_four_and_six_months_exactly() -> None:
    assert (_mrr("4 months", 6000), _mrr("6 months", 6000)) == (Fraction(1500), Fraction(1000))


def test_it_counts_every_two_years_as_a_24th_a_month() -> None:
    assert _mrr("2 years", 48000) == 2000


def test_it_rounds_every_five_months_half_up_to_a_twelfth_of_a_cent() -> None:
    # 999 x 12 / 5 = 2397.6 twelfths of a cent: 2398.
    assert _mrr("5 months", 999) == Fraction(2398, 12)


def test_it_rounds_every_three_weeks_half_up_to_a_twelfth_of_a_cent() -> None:
    # 1000 x 52 / 3 = 17333.33 twelfths of a cent: 17333.
    assert _mrr("3 weeks", 1000) == Fraction(17333, 12)


def test_it_rounds_an_exact_half_up() -> None:
    # 1001 x 1 / 2 = 500.5 twelfths of a cent: 501.
    assert _mrr("2 years", 1001) == Fraction(501, 12)


def test_it_keeps_the_month_quarter_and_year_as_before() -> None:
    assert [_mrr(name, 1200) for name in ("month", "quarter", "year")] == [1200, 400, 100]


def test_it_shows_a_weekly_customer_beside_a_monthly_one_in_dollars() -> None:
    books = Books("2025-01", "2025-01")
    books.bill("W", "2025-01-01", 700, interval="week", count=5)
    books.bill("M", "2025-01-01", 2000)
    result = engine.compute(books.ledger)
    assert (dollars(result, "W"), dollars(result, "M")) == (["30.33"], ["20.00"])


def test_it_names_twelve_months_a_year_and_three_a_quarter() -> None:
    assert (interval_of("month", 12).name, interval_of("month", 3).name) == ("year", "quarter")


def test_it_reads_interval_names_with_a_count() -> None:
    assert [cycle(text).name for text in ("2 weeks", "every 6 months", "1 week", "3 Years")] == [
        "2 weeks",
        "6 months",
        "week",
        "3 years",
    ]


def test_it_refuses_an_interval_longer_than_three_years() -> None:
    with pytest.raises(RevenueInputError, match="every 37 month"):
        interval_of("month", 37)


def test_it_refuses_an_unknown_interval_unit() -> None:
    with pytest.raises(RevenueInputError, match="'fortnight' is not one of day, week"):
        interval_of("fortnight", 1)


def test_it_refuses_an_interval_name_it_cannot_read() -> None:
    with pytest.raises(RevenueInputError, match="'biweekly' is not day, week"):
        cycle("biweekly")


def test_it_refuses_a_book_line_with_an_interval_it_cannot_read() -> None:
    books = Books("2025-01", "2025-01")
    (invoice,) = books.bill("A", "2025-01-01", 1000)
    invoice.lines[0] = replace(invoice.lines[0], interval="fortnightly")
    with pytest.raises(RevenueInputError, match="'fortnightly'"):
        engine.compute(books.ledger)


def test_it_gives_months_in_for_weeks_as_a_fraction_of_a_month() -> None:
    assert (billing.months_in("week"), billing.months_in("quarter")) == (
        Fraction(12, 52),
        Fraction(3),
    )


@st.composite
def lines(draw: st.DrawFn) -> tuple[billing.Cycle, int]:
    unit = draw(st.sampled_from(sorted(billing.UNITS)))
    count = draw(st.integers(1, billing.MAX_COUNT[unit]))
    return interval_of(unit, count), draw(st.integers(-(10**9), 10**9))


@given(st.lists(lines(), min_size=1, max_size=30))
def test_it_keeps_every_line_within_half_a_unit_of_its_exact_mrr(
    drawn: list[tuple[billing.Cycle, int]],
) -> None:
    every = [c for c, _ in drawn]
    amounts = book.ints([amount for _, amount in drawn])
    got = engine.line_twelfths(
        amounts, book.ints([c.per_year for c in every]), book.ints([c.count for c in every])
    )
    for value, cycle_of, amount in zip(got.tolist(), every, amounts.tolist(), strict=True):
        exact = Fraction(amount * cycle_of.per_year, cycle_of.count)
        assert exact - Fraction(1, 2) < value <= exact + Fraction(1, 2)
        assert value == exact or exact.denominator != 1


def test_it_returns_int64_twelfths() -> None:
    got = engine.line_twelfths(book.ints([500]), book.ints([52]), book.ints([1]))
    assert (got.dtype, got.tolist()) == (np.dtype(np.int64), [26000])
