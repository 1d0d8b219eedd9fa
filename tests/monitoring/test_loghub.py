"""The Loghub evaluation: the benchmark's metric, content extraction, `eval logs`, bad input."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from founderops.monitoring import loghub
from tests.conftest import SHARED_DATA

LOGHUB = SHARED_DATA / "monitoring" / "loghub"


def _slice(tmp_path: Path, system: str, lines: int) -> Path:
    """The first `lines` lines of one system's sample, laid out as Loghub does."""
    folder = tmp_path / system
    folder.mkdir()
    source = LOGHUB / system
    log = (source / f"{system}_2k.log").read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / f"{system}_2k.log").write_text("".join(log[:lines]), encoding="utf-8")
    csv_lines = (source / f"{system}_2k.log_structured.csv").read_text(encoding="utf-8")
    rows = csv_lines.splitlines(keepends=True)
    (folder / f"{system}_2k.log_structured.csv").write_text(
        "".join(rows[: lines + 1]), encoding="utf-8"
    )
    return tmp_path


def test_it_counts_split_and_merged_groups_wrong() -> None:
    truth = ["A", "A", "B", "C", "C", "D", "D"]
    # A is split in two, C and D are merged: only B's line is grouped right.
    predicted = [1, 2, 3, 4, 4, 4, 4]

    assert loghub.grouping_accuracy(truth, predicted) == pytest.approx(1 / 7)


def test_it_extracts_content_as_the_structured_csv_has_it(tmp_path: Path) -> None:
    directory = _slice(tmp_path, "OpenStack", 300)

    result = loghub.evaluate_system(directory, "OpenStack")

    assert (result.lines, result.content_mismatches) == (300, 0)


def test_it_groups_real_hdfs_lines_like_the_labels(tmp_path: Path) -> None:
    directory = _slice(tmp_path, "HDFS", 300)

    result = loghub.evaluate_system(directory, "HDFS")

    assert result.grouping_accuracy >= 0.95


def test_it_prints_one_json_object_per_run(tmp_path: Path) -> None:
    directory = _slice(tmp_path, "HDFS", 200)
    out = StringIO()

    call_command("eval", "logs", "--loghub", str(directory), "--systems", "HDFS", stdout=out)

    figures = json.loads(out.getvalue())
    assert set(figures["systems"]) == {"HDFS"}
    assert figures["mean_grouping_accuracy"] == figures["systems"]["HDFS"]["grouping_accuracy"]


def test_it_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"Spark_2k\.log: no such file"):
        call_command("eval", "logs", "--loghub", str(tmp_path), "--systems", "Spark")


def test_it_names_file_and_line_of_a_malformed_csv(tmp_path: Path) -> None:
    directory = _slice(tmp_path, "HDFS", 5)
    csv_path = directory / "HDFS" / "HDFS_2k.log_structured.csv"
    rows = csv_path.read_text(encoding="utf-8").splitlines(keepends=True)
    rows[3] = "3,081109,oops\n"
    csv_path.write_text("".join(rows), encoding="utf-8")

    with pytest.raises(CommandError, match=r"HDFS_2k\.log_structured\.csv, line 4: wrong number"):
        call_command("eval", "logs", "--loghub", str(directory), "--systems", "HDFS")


def test_it_names_file_and_line_of_an_unclosed_quote(tmp_path: Path) -> None:
    directory = _slice(tmp_path, "HDFS", 5)
    csv_path = directory / "HDFS" / "HDFS_2k.log_structured.csv"
    rows = csv_path.read_text(encoding="utf-8").splitlines(keepends=True)
    # The quote never closes: the csv module reads on past its field size limit.
    rows[3] = '3,"unclosed\n' + "x" * 200_000 + "\n"
    csv_path.write_text("".join(rows), encoding="utf-8")

    with pytest.raises(
        CommandError, match=r"HDFS_2k\.log_structured\.csv, line \d+: not valid CSV"
    ):
        call_command("eval", "logs", "--loghub", str(directory), "--systems", "HDFS")
