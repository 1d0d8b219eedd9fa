"""NAB (Numenta Anomaly Benchmark) scoring of the shipped anomaly detector.

`founderops eval anomalies --nab DIR` reads a directory in NAB's layout (`data/<group>/*.csv`,
`labels/combined_windows.json`, `config/profiles.json`), streams every series through a fresh
`AnomalyDetector`, turns its scores into detections with the threshold fixed in
`anomaly.THRESHOLD`, and scores them the way NAB's sweeper does:

- the first min(floor(15% of the file), 750) rows are a probationary period and are not scored;
- a window scores the best (earliest) detection in it, scaled sigmoid of its position, divided
  by the score of a detection on the window's left edge so a perfect window is worth tpWeight;
  a window with no detection costs fnWeight;
- a detection outside every window costs fpWeight times the scaled sigmoid of its distance past
  the preceding window's right edge (in widths of that window), fpWeight if no window precedes.

Raw scores are normalised over a set of files as 100 * (S - null) / (perfect - null), with
null = -fnWeight * W and perfect = tpWeight * W for W windows. For the standard profile this is
100 * (S + W) / (2 * W), the formula in the shared data's SOURCE.txt.

No database and no Django: the command maps `NabInputError` to a CommandError.
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from founderops.monitoring.anomaly import THRESHOLD, AnomalyDetector

PROBATION_PERCENT = 0.15
# NAB caps the probationary period at 15% of 5000 rows.
PROBATION_CAP = 750
PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")
# The published figures SOURCE.txt gives for the 18 shared files (standard profile).
PUBLISHED = {
    "ARTime": 67.1,
    "numenta": 64.5,
    "knncad": 51.7,
    "randomCutForest": 48.4,
    "windowedGaussian": 26.5,
    "null": 0.0,
}

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class NabInputError(ValueError):
    """The directory is not in NAB's layout or a file in it is malformed."""


@dataclass(frozen=True)
class Cost:
    tp: float
    fp: float
    fn: float


@dataclass(frozen=True)
class Series:
    """One data file: its name relative to data/, values, and windows as inclusive row ranges."""

    name: str
    timestamps: list[datetime]
    values: FloatArray
    windows: list[tuple[int, int]]

    @property
    def probation(self) -> int:
        return probationary_length(len(self.values))


@dataclass(frozen=True)
class FileScore:
    score: float
    tp: int
    tn: int
    fp: int
    fn: int


def probationary_length(rows: int) -> int:
    return int(min(math.floor(PROBATION_PERCENT * rows), PROBATION_CAP))


def scaled_sigmoid(position: float) -> float:
    """NAB's reward: ~1 on a window's left edge (-1), 0 on its right edge (0), -1 far after."""
    if position >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def score_file(detections: BoolArray, windows: Sequence[tuple[int, int]], cost: Cost) -> FileScore:
    """NAB's raw score of one file given a detection flag per row."""
    rows = len(detections)
    probation = probationary_length(rows)
    in_window = np.zeros(rows, dtype=bool)
    for left, right in windows:
        in_window[left : right + 1] = True
    scored = np.arange(rows) >= probation
    max_tp = scaled_sigmoid(-1.0)
    best = {k: -cost.fn for k, (_, right) in enumerate(windows) if right >= probation}
    fp_total = 0.0
    for i in np.flatnonzero(detections & scored):
        k = _window_at(windows, int(i))
        if k is not None:
            left, right = windows[k]
            width = right - left + 1
            reward = scaled_sigmoid(-(right - i + 1) / width) * cost.tp / max_tp
            best[k] = max(best[k], reward)
        else:
            fp_total += _fp_weight(windows, int(i)) * cost.fp
    return FileScore(
        score=sum(best.values()) + fp_total,
        tp=int(np.sum(detections & scored & in_window)),
        tn=int(np.sum(~detections & scored & ~in_window)),
        fp=int(np.sum(detections & scored & ~in_window)),
        fn=int(np.sum(~detections & scored & in_window)),
    )


def _window_at(windows: Sequence[tuple[int, int]], i: int) -> int | None:
    for k, (left, right) in enumerate(windows):
        if left <= i <= right:
            return k
    return None


def _fp_weight(windows: Sequence[tuple[int, int]], i: int) -> float:
    """Scaled sigmoid of the distance past the closest preceding window (NAB: -1 if none)."""
    preceding = [(left, right) for left, right in windows if right < i]
    if not preceding:
        return -1.0
    left, right = max(preceding, key=lambda w: w[1])
    # A one-row window would divide by zero in NAB; treat it as one row wide.
    return scaled_sigmoid((i - right) / max(right - left, 1))


def normalise(raw: float, n_windows: int, cost: Cost) -> float:
    """100 for a perfect detector, 0 for one that never detects."""
    if n_windows == 0:
        return 0.0
    null = -cost.fn * n_windows
    perfect = cost.tp * n_windows
    return 100.0 * (raw - null) / (perfect - null)


# ---------------------------------------------------------------------------------------------
# Reading a directory in NAB's layout.


def load_profiles(root: Path) -> dict[str, Cost]:
    path = root / "config" / "profiles.json"
    # Any shape may come from the file: a wrong one is caught below as KeyError/TypeError.
    raw: Any = _read_json(path)
    profiles = {}
    for name in PROFILES:
        try:
            matrix = raw[name]["CostMatrix"]
            profiles[name] = Cost(
                float(matrix["tpWeight"]), float(matrix["fpWeight"]), float(matrix["fnWeight"])
            )
        except (KeyError, TypeError, ValueError):
            raise NabInputError(
                f"{path}: profile {name!r} needs CostMatrix tpWeight, fpWeight and fnWeight"
            ) from None
    return profiles


def load_corpus(root: Path) -> list[Series]:
    """Every data/<group>/*.csv that has an entry in labels/combined_windows.json."""
    if not root.is_dir():
        raise NabInputError(f"--nab {root}: no such directory")
    data = root / "data"
    if not data.is_dir():
        raise NabInputError(f"--nab {root}: missing data/ (expected data/<group>/*.csv)")
    labels = _read_json(root / "labels" / "combined_windows.json")
    if not isinstance(labels, dict):
        raise NabInputError(f"{root / 'labels' / 'combined_windows.json'}: expected an object")
    files = sorted(data.glob("*/*.csv"))
    if not files:
        raise NabInputError(f"{data}: no CSV files in data/<group>/")
    corpus = []
    for path in files:
        name = f"{path.parent.name}/{path.name}"
        if name not in labels:
            raise NabInputError(f"{path}: no windows for {name!r} in combined_windows.json")
        timestamps, values = read_series(path)
        windows = _window_rows(name, timestamps, labels[name])
        corpus.append(Series(name, timestamps, values, windows))
    return corpus


def read_series(path: Path) -> tuple[list[datetime], FloatArray]:
    """A CSV of `timestamp,value` rows with a header line."""
    timestamps: list[datetime] = []
    values: list[float] = []
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or [cell.strip() for cell in header[:2]] != ["timestamp", "value"]:
                raise NabInputError(f"{path}: line 1 must be the header 'timestamp,value'")
            for line, row in enumerate(reader, start=2):
                timestamps.append(_timestamp(path, line, row))
                values.append(_value(path, line, row))
    except (UnicodeDecodeError, csv.Error) as error:
        raise NabInputError(f"{path}: not a UTF-8 CSV file ({error})") from None
    if not values:
        raise NabInputError(f"{path}: no data rows")
    return timestamps, np.asarray(values, dtype=np.float64)


def _timestamp(path: Path, line: int, row: list[str]) -> datetime:
    if len(row) != 2:
        raise NabInputError(f"{path}: line {line}: expected 2 columns, found {len(row)}")
    try:
        return datetime.fromisoformat(row[0].strip())
    except ValueError:
        raise NabInputError(f"{path}: line {line}: {row[0]!r} is not a timestamp") from None


def _value(path: Path, line: int, row: list[str]) -> float:
    try:
        value = float(row[1])
    except ValueError:
        raise NabInputError(f"{path}: line {line}: {row[1]!r} is not a number") from None
    if not math.isfinite(value):
        raise NabInputError(f"{path}: line {line}: {row[1]!r} is not a finite number")
    return value


def _window_rows(name: str, timestamps: list[datetime], raw: object) -> list[tuple[int, int]]:
    if not isinstance(raw, list):
        raise NabInputError(f"combined_windows.json: {name!r} must be a list of [start, end]")
    stamps = np.array(timestamps, dtype="datetime64[us]")
    windows = []
    for pair in raw:
        try:
            start, end = (np.datetime64(datetime.fromisoformat(str(t)), "us") for t in pair)
        except ValueError:
            raise NabInputError(
                f"combined_windows.json: {name!r} has a bad window {pair}"
            ) from None
        left = int(np.searchsorted(stamps, start, side="left"))
        right = int(np.searchsorted(stamps, end, side="right")) - 1
        if right < left:
            raise NabInputError(f"combined_windows.json: {name!r} window {pair} holds no rows")
        windows.append((left, right))
    return windows


def _read_json(path: Path) -> dict[str, object]:
    if not path.is_file():
        raise NabInputError(f"missing {path}")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise NabInputError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(raw, dict):
        raise NabInputError(f"{path}: expected a JSON object")
    return raw


def published_scores(root: Path, n_windows: int) -> dict[str, dict[str, float]]:
    """Each published detector's raw scores in results/ summed and normalised like ours."""
    folder = root / "results" / "per_detector_standard"
    out = {}
    for path in sorted(folder.glob("*_standard_scores.csv")):
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
        except (UnicodeDecodeError, csv.Error) as error:
            raise NabInputError(f"{path}: not a UTF-8 CSV file ({error})") from None
        try:
            raw = sum(float(row["Score"]) for row in rows)
        except (KeyError, ValueError):
            raise NabInputError(f"{path}: every row needs a numeric Score") from None
        detector = path.name.removesuffix("_standard_scores.csv")
        score = normalise(raw, n_windows, Cost(1.0, 0.11, 1.0))
        out[detector] = {"files": len(rows), "raw": round(raw, 4), "score": score}
    return out


# ---------------------------------------------------------------------------------------------
# Running a detector over the corpus.

Factory = Callable[[], AnomalyDetector]


@dataclass(frozen=True)
class Run:
    scores: dict[str, FloatArray]
    seconds: float
    points: int


def run(corpus: Iterable[Series], factory: Factory = AnomalyDetector) -> Run:
    """Stream every series through its own fresh detector, timing only the detector."""
    scores = {}
    seconds = 0.0
    points = 0
    for series in corpus:
        detector = factory()
        values = series.values.tolist()
        out = np.empty(len(values))
        update = detector.update
        start = time.perf_counter()
        for i, (value, at) in enumerate(zip(values, series.timestamps, strict=True)):
            out[i] = update(value, at)
        seconds += time.perf_counter() - start
        points += len(out)
        scores[series.name] = out
    return Run(scores, seconds, points)


def evaluate(
    corpus: Sequence[Series],
    profiles: dict[str, Cost],
    scores: dict[str, FloatArray],
    threshold: float = THRESHOLD,
) -> dict[str, object]:
    """Normalised score per profile and the raw standard score of each file."""
    n_windows = sum(len(series.windows) for series in corpus)
    figures: dict[str, object] = {}
    per_file: dict[str, FileScore] = {}
    for profile, cost in profiles.items():
        results = {s.name: score_file(scores[s.name] >= threshold, s.windows, cost) for s in corpus}
        raw = sum(r.score for r in results.values())
        figures[_figure_name(profile)] = round(normalise(raw, n_windows, cost), 2)
        if profile == "standard":
            per_file = results
    figures["per_file"] = {
        name: {"score": round(r.score, 4), "tp": r.tp, "fp": r.fp, "fn": r.fn, "tn": r.tn}
        for name, r in per_file.items()
    }
    return figures


def by_group(
    corpus: Sequence[Series], cost: Cost, scores: dict[str, FloatArray]
) -> dict[str, float]:
    """The score of each group (data/<group>/) on its own, normalised over its own windows."""
    out = {}
    for group in sorted({series.name.split("/")[0] for series in corpus}):
        members = [series for series in corpus if series.name.startswith(group + "/")]
        raw = sum(score_file(scores[s.name] >= THRESHOLD, s.windows, cost).score for s in members)
        out[group] = round(normalise(raw, sum(len(s.windows) for s in members), cost), 2)
    return out


def _figure_name(profile: str) -> str:
    return {
        "standard": "standard_score",
        "reward_low_FP_rate": "low_fp_score",
        "reward_low_FN_rate": "reward_low_fn_score",
    }[profile]


def report(root: Path) -> dict[str, object]:
    """Everything `eval anomalies` prints: our figures, then the published ones if present."""
    corpus = load_corpus(root)
    profiles = load_profiles(root)
    outcome = run(corpus)
    figures = evaluate(corpus, profiles, outcome.scores)
    n_windows = sum(len(series.windows) for series in corpus)
    head: dict[str, object] = {
        "standard_score": figures.pop("standard_score"),
        "low_fp_score": figures.pop("low_fp_score"),
        "reward_low_fn_score": figures.pop("reward_low_fn_score"),
        "by_group": by_group(corpus, profiles["standard"], outcome.scores),
        "us_per_point": round(1e6 * outcome.seconds / max(outcome.points, 1), 2),
        "threshold": THRESHOLD,
        "n_files": len(corpus),
        "n_windows": n_windows,
        "n_points": outcome.points,
    }
    if (root / "results" / "per_detector_standard").is_dir():
        head["published"] = reproduction(root, corpus)
    return head | figures


def reproduction(root: Path, corpus: Sequence[Series] | None = None) -> dict[str, object]:
    """Published raw scores normalised with our formula, checked against SOURCE.txt's figures."""
    files = load_corpus(root) if corpus is None else corpus
    n_windows = sum(len(series.windows) for series in files)
    scores = published_scores(root, n_windows)
    if not scores:
        folder = root / "results" / "per_detector_standard"
        raise NabInputError(f"{folder}: no *_standard_scores.csv to reproduce")
    check = {
        name: abs(scores[name]["score"] - expected) < 0.05
        for name, expected in PUBLISHED.items()
        if name in scores
    }
    rounded = {name: v | {"score": round(v["score"], 2)} for name, v in scores.items()}
    return {"detectors": rounded, "matches_source": check}
