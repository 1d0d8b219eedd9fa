"""The UCI Online Retail invoices (read from ../shared/data at run time, never copied)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from founderops.revenue.retail import CohortInputError, cohort_table, load_online_retail
from tests.conftest import SHARED_DATA

RETAIL = SHARED_DATA / "revenue" / "online_retail" / "online_retail.parquet"


@pytest.fixture(scope="module")
def december_2010() -> tuple[int, float]:
    if not RETAIL.is_file():
        pytest.skip(f"{RETAIL} is not there (../shared/data)")
    first = cohort_table(load_online_retail(RETAIL)).cohorts[0]
    assert first.month == date(2010, 12, 1)
    return first.customers, round(100 * first.rate(1), 1)


def test_it_finds_the_published_885_customers_in_the_december_2010_cohort(
    december_2010: tuple[int, float],
) -> None:
    assert december_2010[0] == 885


def test_it_finds_the_published_36_6_per_cent_return_in_month_1(
    december_2010: tuple[int, float],
) -> None:
    assert december_2010[1] == 36.6


def test_it_names_a_missing_parquet_file(tmp_path: Path) -> None:
    with pytest.raises(CohortInputError, match="no such file"):
        load_online_retail(tmp_path / "nope.parquet")


def test_it_names_the_missing_columns_of_a_wrong_parquet(tmp_path: Path) -> None:
    import duckdb

    wrong = tmp_path / "wrong.parquet"
    duckdb.sql(f"copy (select 1 as InvoiceNo) to '{wrong}' (format parquet)")
    with pytest.raises(CohortInputError, match="missing column\\(s\\) InvoiceDate"):
        load_online_retail(wrong)
