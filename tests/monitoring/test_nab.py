"""NAB scoring: hand-computed examples, the published normalisation, bad input."""

from __future__ import annotations

import json
import math
import shutil
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from founderops.monitoring import nab
from tests.conftest import SHARED_DATA

NAB_DIR = SHARED_DATA / "monitoring" / "nab"
STANDARD = nab.Cost(tp=1.0, fp=0.11, fn=1.0)


def _flags(rows: int, *hits: int) -> np.ndarray:
    flags = np.zeros(rows, dtype=bool)
    flags[list(hits)] = True
    return flags


def test_it_gives_a_detection_on_the_left_edge_a_full_point() -> None:
    # 1000 rows: probation is 150; window rows 400..499 (width 100).
    result = nab.score_file(_flags(1000, 400), [(400, 499)], STANDARD)
    assert result.score == pytest.approx(1.0)


def test_it_rewards_a_later_detection_less_by_the_scaled_sigmoid() -> None:
    # NAB: position -(right - i + 1) / width, reward scaled by the left-edge reward.
    result = nab.score_file(_flags(1000, 450), [(400, 499)], STANDARD)
    expected = (2 / (1 + math.exp(5 * -0.5)) - 1) / (2 / (1 + math.exp(-5)) - 1)
    assert result.score == pytest.approx(expected)


def test_it_counts_only_the_best_detection_in_a_window() -> None:
    once = nab.score_file(_flags(1000, 410), [(400, 499)], STANDARD)
    thrice = nab.score_file(_flags(1000, 410, 450, 490), [(400, 499)], STANDARD)
    assert thrice.score == pytest.approx(once.score)
    assert thrice.tp == 3


def test_it_charges_a_missed_window_the_fn_weight() -> None:
    result = nab.score_file(_flags(1000), [(400, 499), (700, 799)], STANDARD)
    assert result.score == pytest.approx(-2.0)


def test_it_charges_a_false_positive_before_any_window_the_full_fp_weight() -> None:
    result = nab.score_file(_flags(1000, 200), [(400, 499)], STANDARD)
    assert result.score == pytest.approx(-1.0 - 0.11)


def test_it_charges_a_false_positive_by_its_distance_past_the_window() -> None:
    # Half a window (in widths - 1 = 99 rows) past the right edge at 499.
    result = nab.score_file(_flags(1000, 400, 499 + 99 // 2 + 1), [(400, 499)], STANDARD)
    expected = 1.0 + 0.11 * (2 / (1 + math.exp(5 * (50 / 99))) - 1)
    assert result.score == pytest.approx(expected)


def test_it_ignores_detections_in_the_probationary_period() -> None:
    result = nab.score_file(_flags(1000, 10, 149), [(400, 499)], STANDARD)
    assert result.score == pytest.approx(-1.0)
    assert result.fp == 0


def test_it_caps_the_probationary_period_at_750_rows() -> None:
    assert nab.probationary_length(4032) == 604
    assert nab.probationary_length(18050) == 750


def test_it_normalises_null_to_0_and_perfect_to_100() -> None:
    windows = [(400, 499), (700, 799)]
    null = nab.score_file(_flags(1000), windows, STANDARD).score
    perfect = nab.score_file(_flags(1000, 400, 700), windows, STANDARD).score
    assert nab.normalise(null, 2, STANDARD) == pytest.approx(0.0)
    assert nab.normalise(perfect, 2, STANDARD) == pytest.approx(100.0)


def test_it_reproduces_the_published_scores_from_results() -> None:
    # SOURCE.txt: 100 * (sum of raw scores + W) / (2 * W), W = 36 windows on the 18 files.
    scores = nab.published_scores(NAB_DIR, n_windows=36)
    assert {name: round(scores[name]["score"], 1) for name in nab.PUBLISHED} == nab.PUBLISHED


def test_it_checks_the_published_scores_in_its_reproduction_block() -> None:
    figures = nab.reproduction(NAB_DIR)
    assert figures["matches_source"] == {name: True for name in nab.PUBLISHED}


def test_it_counts_rows_like_the_published_null_detector() -> None:
    """Window rows and probation as NAB parsed them: the null detector's TN/FN per file."""
    corpus = {series.name: series for series in nab.load_corpus(NAB_DIR)}
    path = NAB_DIR / "results" / "per_detector_standard" / "null_standard_scores.csv"
    rows = [line.split(",") for line in path.read_text().splitlines()[1:]]
    for row in rows:
        series = corpus[row[2]]
        result = nab.score_file(np.zeros(len(series.values), bool), series.windows, STANDARD)
        assert (result.score, result.tn, result.fn) == (float(row[4]), int(row[6]), int(row[8]))


def _tiny_nab(tmp_path: Path, csv_text: str) -> Path:
    root = tmp_path / "nab"
    (root / "data" / "group").mkdir(parents=True)
    (root / "labels").mkdir()
    (root / "config").mkdir()
    shutil.copy(NAB_DIR / "config" / "profiles.json", root / "config" / "profiles.json")
    (root / "data" / "group" / "a.csv").write_text(csv_text)
    windows = {"group/a.csv": [["2020-01-01 00:10:00.000000", "2020-01-01 00:20:00.000000"]]}
    (root / "labels" / "combined_windows.json").write_text(json.dumps(windows))
    return root


def _csv(rows: int) -> str:
    lines = ["timestamp,value"]
    lines += [f"2020-01-01 00:{i:02d}:00,{float(i % 7)}" for i in range(rows)]
    return "\n".join(lines) + "\n"


def test_it_prints_one_json_object_for_a_small_directory(tmp_path: Path) -> None:
    out = StringIO()
    call_command("eval", "anomalies", "--nab", str(_tiny_nab(tmp_path, _csv(60))), stdout=out)
    figures = json.loads(out.getvalue())
    assert (figures["n_files"], figures["n_windows"], figures["n_points"]) == (1, 1, 60)
    assert {"standard_score", "low_fp_score", "us_per_point", "per_file"} <= set(figures)
    assert set(figures["by_group"]) == {"group"}


def test_it_names_the_file_and_line_of_a_malformed_row(tmp_path: Path) -> None:
    root = _tiny_nab(tmp_path, _csv(30).replace("00:12:00,5.0", "00:12:00,five"))
    with pytest.raises(CommandError, match=r"a\.csv: line 14: 'five' is not a number"):
        call_command("eval", "anomalies", "--nab", str(root), stdout=StringIO())


def test_it_names_a_missing_labels_file(tmp_path: Path) -> None:
    root = _tiny_nab(tmp_path, _csv(30))
    (root / "labels" / "combined_windows.json").unlink()
    with pytest.raises(CommandError, match=r"missing .*combined_windows\.json"):
        call_command("eval", "anomalies", "--nab", str(root), stdout=StringIO())


def test_it_names_a_missing_config(tmp_path: Path) -> None:
    root = _tiny_nab(tmp_path, _csv(30))
    (root / "config" / "profiles.json").unlink()
    with pytest.raises(CommandError, match=r"missing .*profiles\.json"):
        call_command("eval", "anomalies", "--nab", str(root), stdout=StringIO())


def test_it_names_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no such directory"):
        call_command("eval", "anomalies", "--nab", str(tmp_path / "nope"), stdout=StringIO())


def test_it_names_a_data_file_that_is_not_text(tmp_path: Path) -> None:
    root = _tiny_nab(tmp_path, "")
    (root / "data" / "group" / "a.csv").write_bytes(b"timestamp,value\n\x9b\xff\x00junk\n")
    with pytest.raises(CommandError, match=r"a\.csv: not a UTF-8 CSV file"):
        call_command("eval", "anomalies", "--nab", str(root), stdout=StringIO())


def test_it_says_there_is_nothing_to_reproduce_without_results(tmp_path: Path) -> None:
    root = _tiny_nab(tmp_path, _csv(30))
    with pytest.raises(CommandError, match=r"no \*_standard_scores\.csv to reproduce"):
        call_command("eval", "anomalies", "--nab", str(root), "--reproduce", stdout=StringIO())
