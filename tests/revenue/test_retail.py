"""Cohort retention from plain purchases (`revenue/retail.py`)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest

from founderops.revenue.retail import (
    CohortInputError,
    Purchase,
    cohort_table,
    read_purchases_csv,
    table_json,
)


def _at(year: int, month: int, day: int = 5) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def test_it_puts_a_customer_in_the_month_of_their_first_purchase() -> None:
    table = cohort_table([Purchase("a", _at(2024, 2), 100), Purchase("a", _at(2024, 1), 100)])
    assert [c.month for c in table.cohorts] == [date(2024, 1, 1)]


def test_it_counts_a_return_in_a_later_month_without_requiring_the_months_between() -> None:
    table = cohort_table([Purchase("a", _at(2024, 1), 100), Purchase("a", _at(2024, 3), 100)])
    assert table.cohorts[0].retained == (1, 0, 1)


def test_it_ignores_cancellations_and_free_lines_as_activity() -> None:
    purchases = [
        Purchase("a", _at(2024, 1), 100),
        Purchase("a", _at(2024, 2), -100),
        Purchase("a", _at(2024, 3), 0),
    ]
    table = cohort_table(purchases)
    assert (table.cohorts[0].retained, table.skipped_not_positive) == ((1, 0, 0), 2)


def test_it_skips_purchases_without_a_customer_and_counts_them() -> None:
    table = cohort_table([Purchase("", _at(2024, 1), 100), Purchase("b", _at(2024, 1), 100)])
    assert (table.cohorts[0].customers, table.skipped_without_customer) == (1, 1)


def test_it_sums_revenue_per_cohort_month() -> None:
    purchases = [Purchase(c, _at(2024, 1), 250) for c in ("a", "b")]
    assert cohort_table(purchases).cohorts[0].revenue == (500,)


def test_it_widens_every_cohort_to_the_last_month() -> None:
    purchases = [Purchase("a", _at(2024, 1), 1), Purchase("b", _at(2024, 2), 1)]
    table = cohort_table(purchases, last_month=date(2024, 4, 1))
    assert [len(c.retained) for c in table.cohorts] == [4, 3]


def test_it_refuses_input_with_no_usable_purchase() -> None:
    with pytest.raises(CohortInputError, match="no purchase"):
        cohort_table([Purchase("a", _at(2024, 1), -5)])


def test_it_reports_retention_in_per_cent_with_one_decimal() -> None:
    purchases = [Purchase(c, _at(2024, 1), 1) for c in "abc"] + [Purchase("a", _at(2024, 2), 1)]
    row = table_json(cohort_table(purchases))["rows"]
    assert row == [
        {
            "cohort": "2024-01",
            "customers": 3,
            "retained": [3, 1],
            "retention_pct": [100.0, 33.3],
            "revenue": [3, 1],
        }
    ]


def test_it_reads_purchases_from_a_csv() -> None:
    stream = io.StringIO("customer,date,amount\nc1,2024-01-05T10:00:00+00:00,1999\n")
    assert read_purchases_csv(stream) == [Purchase("c1", _at(2024, 1).replace(hour=10), 1999)]


def test_it_names_missing_csv_columns() -> None:
    with pytest.raises(CohortInputError, match="missing column\\(s\\) amount"):
        read_purchases_csv(io.StringIO("customer,date\nc1,2024-01-05\n"))


def test_it_refuses_a_decimal_amount_with_its_line() -> None:
    with pytest.raises(CohortInputError, match=r"line 2: amount '19\.99'"):
        read_purchases_csv(io.StringIO("customer,date,amount\nc1,2024-01-05,19.99\n"))


def test_it_refuses_a_bad_date_with_its_line() -> None:
    with pytest.raises(CohortInputError, match="line 2: date '05/01/2024'"):
        read_purchases_csv(io.StringIO("customer,date,amount\nc1,05/01/2024,1\n"))
