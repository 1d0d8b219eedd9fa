"""`founderops bench revenue` on small histories: it generates deterministically, and the engine,
its incremental update and the DuckDB query agree (speed is measured, never asserted)."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from founderops.cli import revenue_bench
from founderops.cli.revenue_bench import Shape
from founderops.revenue import engine, fixture
from founderops.revenue.book import from_ledger
from tests.revenue.test_engine_reference import _scenario

SMALL = Shape(customers=400, months=14, seed=3)


@pytest.fixture(scope="module")
def report() -> dict[str, object]:
    return revenue_bench.run(SMALL)


def test_it_generates_the_same_history_for_the_same_seed() -> None:
    one, other = revenue_bench.generate(SMALL), revenue_bench.generate(SMALL)
    assert np.array_equal(one.lines.gross, other.lines.gross)


def test_it_bills_some_customers_in_euros_at_daily_rates() -> None:
    book = revenue_bench.generate(SMALL)
    assert (0 < int(book.customer_currency.sum()) < 400, len(book.rates) > 400) == (True, True)


def test_it_agrees_with_duckdb_on_every_month(report: dict[str, object]) -> None:
    assert (report["bridge_matches_duckdb"], report["months_compared"]) == (True, 14)


def test_it_updates_incrementally_to_the_full_result(report: dict[str, object]) -> None:
    incremental = report["incremental"]
    assert isinstance(incremental, dict)
    assert incremental["matches_full_recompute"] is True


def test_it_reports_seconds_and_peak_memory(report: dict[str, object]) -> None:
    figures = report["engine"]
    assert isinstance(figures, dict)
    assert set(figures) >= {"movement_table_s", "metrics_s", "total_s", "peak_rss_mb"}


def test_it_computes_the_reference_scenario_alike_in_duckdb() -> None:
    # Trials, a voided past-due invoice, a refund and a EUR customer at dated rates.
    book = from_ledger(fixture.load(_scenario("events.csv")))
    expected = revenue_bench.bridge_totals(engine.compute(book))
    assert revenue_bench.duckdb_bridge(book) == expected


def test_it_prints_one_json_object_from_the_command() -> None:
    out = io.StringIO()
    call_command("bench", "revenue", "--customers", "50", "--months", "3", stdout=out)
    assert json.loads(out.getvalue())["all_agree"] is True


def test_it_refuses_zero_customers() -> None:
    with pytest.raises(CommandError, match="at least 1"):
        call_command("bench", "revenue", "--customers", "0")
