"""Cash-flow projection from each running subscription's next invoice, checked by hand.

Range January to April 2025, so the projection covers May, June and July:
A 100.00 monthly -> 100 each month; C 200.00 + 40.00 tax monthly -> 240 each month;
Q 300.00 quarterly from 02-10 -> May 10 only; Y 1,200.00 yearly from 03-15 -> not before 2026;
H 100.00 EUR monthly at the latest rate 1.10 -> 110 each month. May 750, June and July 450.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from founderops.revenue import cashflow, engine
from founderops.revenue.billing import RevenueInputError
from founderops.revenue.cashflow import Projection
from tests.revenue.ledgers import Books


def _books() -> Books:
    books = Books("2025-01", "2025-04")
    books.bill("A", "2025-01-01", 10000, count=4)
    books.bill("C", "2025-02-01", 20000, count=3, tax=4000)
    books.bill("Q", "2025-02-10", 30000, interval="quarter", count=1)
    books.bill("Y", "2025-03-15", 120000, interval="year")
    books.bill("H", "2025-01-01", 10000, count=4, currency="EUR")
    books.rate("EUR", "2025-01-01", "1.05")
    books.rate("EUR", "2025-04-01", "1.10")
    return books


def _projection(books: Books) -> Projection:
    return cashflow.projection(engine.compute(books.ledger), 3)


def test_it_expects_each_running_subscriptions_next_invoices_by_month() -> None:
    assert [c.expected for c in _projection(_books()).collections] == [
        Fraction(75000),
        Fraction(45000),
        Fraction(45000),
    ]


def test_it_names_the_months_after_the_range() -> None:
    assert [c.month for c in _projection(_books()).collections] == [
        date(2025, 5, 1),
        date(2025, 6, 1),
        date(2025, 7, 1),
    ]


def test_it_counts_the_invoices_expected_each_month() -> None:
    assert [c.invoices for c in _projection(_books()).collections] == [4, 3, 3]


def test_it_expects_nothing_from_a_subscription_set_to_cancel() -> None:
    books = _books()
    books.ledger.subscriptions["sub_A_1"].cancel_at_period_end = True
    assert _projection(books).collections[1].expected == Fraction(35000)


def test_it_expects_nothing_from_an_ended_subscription() -> None:
    books = _books()
    books.end("sub_A_1", "2025-05-01")
    assert _projection(books).collections[0].invoices == 3


def test_it_reports_past_due_invoices_apart() -> None:
    books = _books()
    books.bill("G", "2025-04-01", 7000, status="open")
    projection = _projection(books)
    assert (projection.outstanding, projection.outstanding_invoices) == (Fraction(7000), 1)


def test_it_expects_a_renewal_already_due_on_the_first_projected_month() -> None:
    books = Books("2025-01", "2025-04")
    books.bill("A", "2025-01-01", 10000)
    assert _projection(books).collections[0].expected == Fraction(10000)


def test_it_refuses_an_empty_horizon() -> None:
    with pytest.raises(RevenueInputError, match="at least one month"):
        cashflow.projection(engine.compute(_books().ledger), 0)
