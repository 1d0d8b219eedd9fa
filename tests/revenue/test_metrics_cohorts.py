"""Cohort retention by first-paid month, on ledgers checked by hand."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

from founderops.revenue import cohorts, engine
from founderops.revenue.cohorts import Cohort
from tests.revenue.ledgers import Books


def _table() -> list[Cohort]:
    # January: A 100 (stays), B 50 (leaves 02-01), D 100 then 150 from February.
    # February: C 200 (stays). E pays in January, is gone in February, back in March.
    books = Books("2025-01", "2025-04")
    books.bill("A", "2025-01-01", 10000, count=4)
    books.bill("B", "2025-01-01", 5000)
    books.bill("D", "2025-01-01", 10000, sub="sub_D")
    books.bill("D", "2025-02-01", 15000, count=3, sub="sub_D")
    books.bill("C", "2025-02-01", 20000, count=3)
    books.bill("E", "2025-01-01", 1000)
    books.bill("E", "2025-03-01", 1000, count=2)
    return cohorts.cohorts(engine.compute(books.ledger))


def test_it_groups_customers_by_the_month_they_first_paid() -> None:
    assert [(c.month, c.customers) for c in _table()] == [
        (date(2025, 1, 1), 4),
        (date(2025, 2, 1), 1),
    ]


def test_it_counts_members_paying_at_each_later_month_end() -> None:
    # January's cohort: A, B, D, E; then A and D; then A, D and E (back) twice.
    assert _table()[0].retained == (4, 2, 3, 3)


def test_it_sums_the_members_mrr_at_each_month_end() -> None:
    assert _table()[0].mrr == (Fraction(26000), Fraction(25000), Fraction(26000), Fraction(26000))


def test_it_gives_customer_retention_as_a_share_of_the_cohort() -> None:
    assert _table()[0].customer_retention(1) == Fraction(1, 2)


def test_it_gives_revenue_retention_against_the_first_month() -> None:
    assert _table()[0].revenue_retention(1) == Fraction(25, 26)


def test_it_shortens_later_cohorts_to_the_months_they_have() -> None:
    assert _table()[1].retained == (1, 1, 1)
