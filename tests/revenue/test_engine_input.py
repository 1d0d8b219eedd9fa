"""Billing records the engine cannot trust give a clear error; odd but valid ones a documented
number. Never a silently wrong figure."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from fractions import Fraction

import pytest

from founderops.revenue import engine
from founderops.revenue.billing import RevenueInputError
from founderops.revenue.engine import Settings
from tests.revenue.ledgers import Books, column, dollars


def test_it_gives_a_zero_amount_line_no_mrr_and_no_paying_customer() -> None:
    books = Books("2025-01", "2025-01")
    books.bill("Z", "2025-01-01", 0)
    result = engine.compute(books.ledger)
    assert (dollars(result, "Z"), result.months[0].paying_end) == (["0.00"], 0)


def test_it_lets_a_credit_line_lower_its_invoice() -> None:
    books = Books("2025-01", "2025-01")
    books.bill("A", "2025-01-01", 10000, extra=(-2000,))
    assert dollars(engine.compute(books.ledger), "A") == ["80.00"]


def test_it_refuses_an_invoice_whose_lines_add_up_below_zero() -> None:
    books = Books("2025-01", "2025-01")
    books.bill("A", "2025-01-01", 1000, extra=(-2000,))
    with pytest.raises(RevenueInputError, match=r"invoice in_1 \(customer A\).*negative MRR"):
        engine.compute(books.ledger)


def test_it_counts_a_100_percent_off_coupon_as_no_mrr() -> None:
    books = Books("2025-01", "2025-02")
    books.bill("C", "2025-01-01", 5000, discount=5000, duration="repeating")
    books.bill("C", "2025-02-01", 5000, sub="sub_C_1")
    result = engine.compute(books.ledger)
    # Not paying while the coupon runs; the first paid month is new business.
    assert column(result, "new") == ["0.00", "50.00"]


def test_it_counts_a_100_percent_repeating_coupon_at_full_price_under_the_stripe_profile() -> None:
    books = Books("2025-01", "2025-01")
    books.bill("C", "2025-01-01", 5000, discount=5000, duration="repeating")
    assert dollars(engine.compute(books.ledger, engine.PROFILES["stripe"]), "C") == ["50.00"]


def test_it_refuses_refunds_exceeding_the_invoice() -> None:
    books = Books("2025-01", "2025-01")
    (invoice,) = books.bill("A", "2025-01-01", 10000)
    books.refund(invoice, 6000, "2025-01-05")
    books.refund(invoice, 6000, "2025-01-06")
    with pytest.raises(RevenueInputError, match=r"in_1 \(customer A\): refunds of 12000 exceed"):
        engine.compute(books.ledger)


def test_it_refuses_refunds_exceeding_the_invoice_whatever_the_refund_setting() -> None:
    books = Books("2025-01", "2025-01")
    (invoice,) = books.bill("A", "2025-01-01", 10000)
    books.refund(invoice, 10001, "2025-01-05")
    with pytest.raises(RevenueInputError, match="exceed"):
        engine.compute(books.ledger, replace(Settings(), refunds="deduct"))


def test_it_refuses_a_currency_without_a_rate_naming_the_invoice_and_day() -> None:
    books = Books("2025-01", "2025-02")
    books.bill("H", "2025-01-01", 10000, count=2, currency="EUR")
    books.rate("EUR", "2025-02-01", "1.05")
    with pytest.raises(
        RevenueInputError, match=r"no EURUSD rate on or before 2025-01-01 \(invoice in_1"
    ):
        engine.compute(books.ledger)


def test_it_refuses_a_customer_billed_in_two_currencies() -> None:
    books = Books("2025-01", "2025-01")
    books.bill("H", "2025-01-01", 10000, currency="EUR")
    books.bill("H", "2025-01-01", 10000, currency="GBP")
    with pytest.raises(RevenueInputError, match="customer H is billed in EUR and GBP"):
        engine.compute(books.ledger)


def test_it_refuses_two_different_rates_for_one_day() -> None:
    books = Books("2025-01", "2025-01")
    books.bill("H", "2025-01-01", 10000, currency="EUR")
    books.rate("EUR", "2025-01-01", "1.10")
    books.rate("EUR", "2025-01-01", "1.11")
    with pytest.raises(RevenueInputError, match="two different EUR rates for 2025-01-01"):
        engine.compute(books.ledger)


def test_it_refuses_a_rate_of_zero() -> None:
    books = Books("2025-01", "2025-01")
    books.bill("H", "2025-01-01", 10000, currency="EUR")
    books.rate("EUR", "2025-01-01", "0")
    with pytest.raises(RevenueInputError, match="not above zero"):
        engine.compute(books.ledger)


def test_it_refuses_a_refund_of_an_unknown_invoice() -> None:
    books = Books("2025-01", "2025-01")
    (invoice,) = books.bill("A", "2025-01-01", 10000)
    books.refund(replace(invoice, id="in_404"), 100, "2025-01-02")
    with pytest.raises(RevenueInputError, match="refund names unknown invoice in_404"):
        engine.compute(books.ledger)


def test_it_refuses_a_time_without_a_zone() -> None:
    books = Books("2025-01", "2025-01")
    (invoice,) = books.bill("A", "2025-01-01", 10000)
    invoice.period_start = datetime(2025, 1, 1)  # naive on purpose
    with pytest.raises(RevenueInputError, match="has no time zone"):
        engine.compute(books.ledger)


def test_it_refuses_amounts_too_large_for_exact_arithmetic() -> None:
    books = Books("2025-01", "2025-01")
    books.bill("H", "2025-01-01", 10**12, currency="EUR")
    books.rate("EUR", "2025-01-01", "1.123456789")
    with pytest.raises(RevenueInputError, match="too large for exact 64-bit arithmetic"):
        engine.compute(books.ledger)


def test_it_keeps_exact_cents_with_rates_of_many_decimals() -> None:
    books = Books("2025-01", "2025-01")
    books.bill("H", "2025-01-01", 333, interval="year", currency="EUR")
    books.rate("EUR", "2025-01-01", "1.123457")
    result = engine.compute(books.ledger)
    # 3.33 EUR a year = 333/12 cents a month, at 1.123457 USD: exact, not a float.
    assert result.month_end(0) == [Fraction(333, 12) * Fraction("1.123457")]
