"""The streaming anomaly detector on synthetic series and a slice of a shared one."""

from __future__ import annotations

import json

import numpy as np
import pytest

from founderops.monitoring import anomaly, nab
from founderops.monitoring.anomaly import AnomalyDetector
from tests.conftest import SHARED_DATA


def _scores(values: list[float], detector: AnomalyDetector | None = None) -> list[float]:
    detector = detector or AnomalyDetector()
    return [detector.update(v) for v in values]


def _noise(n: int, seed: int = 7) -> list[float]:
    noise: list[float] = (10.0 + np.random.default_rng(seed).normal(0.0, 1.0, n)).tolist()
    return noise


def test_it_flags_an_obvious_spike_within_two_points() -> None:
    # The likelihood averages the last AVERAGE surprises, so a lone spike may show a point late.
    values = _noise(600)
    values[400] += 15.0
    flagged = [i for i, s in enumerate(_scores(values)) if s >= anomaly.THRESHOLD]
    assert [i for i in flagged if i >= 390] == [i for i in flagged if 400 <= i <= 402][:1]


def test_it_flags_a_level_shift_soon_after_it_starts() -> None:
    values = _noise(700)
    values[400:] = [v + 6.0 for v in values[400:]]
    flagged = [i for i, s in enumerate(_scores(values)) if s >= anomaly.THRESHOLD]
    assert any(400 <= i < 410 for i in flagged)


def test_it_stays_mostly_quiet_on_pure_noise_after_warm_up() -> None:
    # Gaussian noise still has rare extremes: at most a handful of alerts in 3000 points.
    scores = _scores(_noise(3000, seed=3))
    assert sum(s >= anomaly.THRESHOLD for s in scores[anomaly.WARMUP :]) <= 5


def test_it_raises_one_alert_per_incident() -> None:
    values = _noise(700)
    values[400:420] = [v + 20.0 for v in values[400:420]]
    flagged = [i for i, s in enumerate(_scores(values)) if s >= anomaly.THRESHOLD]
    assert len([i for i in flagged if 400 <= i < 400 + anomaly.SUPPRESS]) == 1


def test_it_scores_identically_after_a_json_state_round_trip() -> None:
    _, values = nab.read_series(SHARED_DATA / "monitoring/nab/data/realKnownCause/nyc_taxi.csv")
    series = values[:600].tolist()
    straight = _scores(series)
    first = AnomalyDetector()
    head = _scores(series[:350], first)
    restored = AnomalyDetector.from_state(json.loads(json.dumps(first.to_state())))
    assert head + _scores(series[350:], restored) == straight


def test_it_keeps_bounded_state() -> None:
    detector = AnomalyDetector()
    _scores(_noise(5000), detector)
    state = detector.to_state()
    assert len(state["values"]["items"]) == anomaly.HISTORY
    assert all(len(s["items"]) == anomaly.LIKELIHOOD_WINDOW for s in state["surprises"].values())


def test_it_rejects_a_non_finite_value() -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        AnomalyDetector().update(float("nan"))


def test_it_rejects_a_state_from_another_version() -> None:
    with pytest.raises(ValueError, match="unknown state version"):
        AnomalyDetector.from_state({"version": 99})
