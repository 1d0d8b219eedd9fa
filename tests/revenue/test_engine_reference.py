"""The reference scenario (../shared/data/revenue/reference_scenario) to the cent, both profiles."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from founderops.revenue import engine, fixture, report
from founderops.revenue.engine import PROFILES, Result
from tests.conftest import SHARED_DATA

SCENARIO = SHARED_DATA / "revenue" / "reference_scenario"


def _scenario(name: str) -> Path:
    path = SCENARIO / name
    if not path.is_file():
        pytest.skip(f"{path} is not there (../shared/data)")
    return path


def _result(profile: str) -> Result:
    return engine.compute(fixture.load(_scenario("events.csv")), PROFILES[profile])


def _rows(text: str) -> dict[str, dict[str, str]]:
    rows = csv.DictReader(io.StringIO(text))
    key = "month" if "month" in (rows.fieldnames or []) else "customer"
    return {row[key]: row for row in rows}


def test_it_reproduces_the_expected_movements_under_the_default_profile() -> None:
    expected = _scenario("expected_movements.csv").read_text(encoding="utf-8")
    assert report.movements_csv(_result("chartmogul")) == expected


def test_it_reproduces_the_expected_month_end_mrr_under_the_default_profile() -> None:
    expected = _scenario("expected_month_end_mrr_usd.csv").read_text(encoding="utf-8")
    assert report.month_end_csv(_result("chartmogul")) == expected


def test_it_counts_d_at_80_from_february_under_the_stripe_profile() -> None:
    month_end = _rows(report.month_end_csv(_result("stripe")))
    assert [month_end["D"][m] for m in ("2025-02", "2025-03", "2025-04")] == [
        "80.00",
        "80.00",
        "80.00",
    ]


def test_it_gives_the_readme_totals_under_the_stripe_profile() -> None:
    months = _rows(report.movements_csv(_result("stripe")))
    assert months["2025-02"]["new"] == "150.00"
    assert months["2025-02"]["end_mrr"] == "525.00"
    assert months["2025-03"]["end_mrr"] == "688.00"
    assert months["2025-04"]["expansion"] == "0.00"


def test_it_differs_from_the_default_only_where_the_readme_says() -> None:
    default = _rows(report.month_end_csv(_result("chartmogul")))
    stripe = _rows(report.month_end_csv(_result("stripe")))
    changed = {
        (customer, month)
        for customer, row in default.items()
        for month, value in row.items()
        if stripe[customer][month] != value
    }
    assert changed == {
        ("D", "2025-02"),
        ("D", "2025-03"),
        ("TOTAL", "2025-02"),
        ("TOTAL", "2025-03"),
    }


def test_it_lands_f_churn_in_march_when_churn_is_recognised_at_cancellation() -> None:
    settings = replace(PROFILES["stripe"], churn_recognition="at_cancellation")
    result = engine.compute(fixture.load(_scenario("events.csv")), settings)
    months = _rows(report.movements_csv(result))
    # F paid 60 on 03-01 and was canceled (refunded) on 03-05: new and churn both in March.
    assert (months["2025-03"]["churn"], months["2025-04"]["churn"]) == ("60.00", "30.00")


def test_it_writes_both_files_with_the_eval_command(tmp_path: Path) -> None:
    out = tmp_path / "out"
    call_command("eval", "revenue", "--events", str(_scenario("events.csv")), "--out", str(out))
    assert (out / "movements.csv").read_text() == _scenario("expected_movements.csv").read_text()


def test_it_reads_an_events_file_with_a_byte_order_mark(tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_bytes(b"\xef\xbb\xbf" + _scenario("events.csv").read_bytes())
    out = tmp_path / "out"
    call_command("eval", "revenue", "--events", str(events), "--out", str(out))
    assert (out / "movements.csv").read_text() == _scenario("expected_movements.csv").read_text()


def test_it_names_the_line_of_an_events_file_that_is_not_utf8(tmp_path: Path) -> None:
    events = tmp_path / "events.csv"
    events.write_bytes(_scenario("events.csv").read_bytes() + b"Z,EUR,\xff\n")
    lines = _scenario("events.csv").read_bytes().count(b"\n") + 1
    with pytest.raises(CommandError, match=rf"events.csv:{lines}: not UTF-8 text \(byte 0xff\)"):
        call_command("eval", "revenue", "--events", str(events), "--out", str(tmp_path / "o"))


def test_it_names_the_file_it_was_given_with_the_bad_line(tmp_path: Path) -> None:
    events = tmp_path / "march-billing.csv"
    events.write_text("not,the,columns\n")
    with pytest.raises(CommandError) as refused:
        call_command("eval", "revenue", "--events", str(events), "--out", str(tmp_path / "o"))
    assert str(refused.value).startswith(f"{events}:1: columns are")


def test_it_refuses_an_out_path_that_is_a_file(tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.write_text("")
    with pytest.raises(CommandError, match="is a file; give a directory"):
        call_command(
            "eval", "revenue", "--events", str(_scenario("events.csv")), "--out", str(taken)
        )
