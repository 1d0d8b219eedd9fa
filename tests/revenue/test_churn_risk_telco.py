"""`eval churn`'s telco loader and models (a slice of the shared file, read at run time)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest

from founderops.revenue import churn_risk_telco as telco
from founderops.revenue.churn_risk import ChurnInputError
from tests.conftest import SHARED_DATA

TELCO = SHARED_DATA / "revenue" / "telco_churn" / "Telco-Customer-Churn.csv"


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    if not TELCO.is_file():
        pytest.skip(f"{TELCO} is not there (../shared/data)")
    with TELCO.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def test_it_reads_a_blank_total_charges_at_tenure_zero_as_zero(
    rows: list[dict[str, str]], tmp_path: Path
) -> None:
    new = [row for row in rows if row["tenure"] == "0"][:1] + rows[:5]
    data = telco.load(_write(tmp_path / "t.csv", new))
    assert data.numbers[0].tolist() == [0.0, float(new[0]["MonthlyCharges"]), 0.0]


def test_it_refuses_a_blank_total_charges_after_the_first_month(
    rows: list[dict[str, str]], tmp_path: Path
) -> None:
    broken = [dict(rows[1], TotalCharges=" "), *rows[2:6]]
    with pytest.raises(ChurnInputError, match="line 2: TotalCharges '' is not a number"):
        telco.load(_write(tmp_path / "t.csv", broken))


def test_it_names_the_missing_columns(rows: list[dict[str, str]], tmp_path: Path) -> None:
    without = [{k: v for k, v in row.items() if k != "Contract"} for row in rows[:5]]
    with pytest.raises(ChurnInputError, match="missing column\\(s\\) Contract"):
        telco.load(_write(tmp_path / "t.csv", without))


def test_it_refuses_an_unknown_churn_label(rows: list[dict[str, str]], tmp_path: Path) -> None:
    with pytest.raises(ChurnInputError, match="line 2: Churn is 'maybe'"):
        telco.load(_write(tmp_path / "t.csv", [dict(rows[0], Churn="maybe")]))


def test_it_refuses_a_file_where_nobody_churned(rows: list[dict[str, str]], tmp_path: Path) -> None:
    stayed = [row for row in rows if row["Churn"] == "No"][:10]
    with pytest.raises(ChurnInputError, match="same Churn label"):
        telco.load(_write(tmp_path / "t.csv", stayed))


def test_it_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ChurnInputError, match="no such file"):
        telco.load(tmp_path / "none.csv")


@pytest.mark.parametrize("name", sorted(telco.CANDIDATES))
def test_it_ranks_churners_above_stayers_with_every_candidate(
    name: str, rows: list[dict[str, str]], tmp_path: Path
) -> None:
    data = telco.load(_write(tmp_path / "t.csv", rows[:1500]))
    train, test = np.arange(1000), np.arange(1000, 1500)
    auc = telco._auc(telco.CANDIDATES[name](), data.x, data.churned, train, test)
    assert auc > 0.75
