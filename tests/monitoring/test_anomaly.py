"""The streaming anomaly detector on synthetic series and a slice of a shared one."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest

from founderops.monitoring import anomaly, nab
from founderops.monitoring.anomaly import AnomalyDetector
from tests.conftest import SHARED_DATA


def _scores(
    values: list[float],
    detector: AnomalyDetector | None = None,
    times: list[datetime] | None = None,
) -> list[float]:
    detector = detector or AnomalyDetector()
    if times is None:
        return [detector.update(v) for v in values]
    return [detector.update(v, at) for v, at in zip(values, times, strict=True)]


def _five_minutes(n: int, start: datetime = datetime(2024, 3, 1, 12)) -> list[datetime]:
    # Noon: the first 03:00 comes after the warm-up.
    return [start + timedelta(minutes=5 * i) for i in range(n)]


def _numbers(state: object) -> int:
    """How many numbers a JSON state holds, however it nests them."""
    if isinstance(state, dict):
        return sum(_numbers(v) for v in state.values())
    if isinstance(state, list):
        return sum(_numbers(v) for v in state)
    return 1


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


def test_it_flags_a_sustained_shift_of_one_standard_deviation_within_a_bar() -> None:
    # Too small for a point or the mean of 5 to stand out; the mean of a bar of 48 does.
    values = _noise(3000)
    values[2000:] = [v + 1.0 for v in values[2000:]]
    flagged = [i for i, s in enumerate(_scores(values)) if s >= anomaly.THRESHOLD]
    assert any(2000 <= i < 2000 + anomaly.BAR for i in flagged)


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
    # 1,000 half-hours: saved after 14 days, when the daily memory is full and rolling and the
    # bar stream (10 bars = 480 points) is scoring, halfway through a bar.
    stamps, values = nab.read_series(
        SHARED_DATA / "monitoring/nab/data/realKnownCause/nyc_taxi.csv"
    )
    series, times = values[:1000].tolist(), stamps[:1000]
    straight = _scores(series, times=times)
    first = AnomalyDetector()
    head = _scores(series[:700], first, times[:700])
    restored = AnomalyDetector.from_state(json.loads(json.dumps(first.to_state())))
    assert head + _scores(series[700:], restored, times[700:]) == straight


def test_it_keeps_its_state_under_a_fixed_size_after_100k_points() -> None:
    detector = AnomalyDetector()
    _scores(_noise(100_000), detector, _five_minutes(100_000))
    streams = len(anomaly.STREAMS)
    cap = (
        2 * anomaly.HISTORY
        + anomaly.SHORT
        + anomaly.BAR
        + anomaly.BAR_HISTORY
        + streams * (anomaly.LIKELIHOOD_WINDOW + anomaly.AVERAGE)
        + (anomaly.DAYS + 1) * streams * anomaly.HOURS
        + 40  # counters, sums and the version
    )
    assert _numbers(detector.to_state()) <= cap


def test_it_saves_under_100_kb_of_json_after_100k_points() -> None:
    detector = AnomalyDetector()
    _scores(_noise(100_000), detector, _five_minutes(100_000))
    assert len(json.dumps(detector.to_state())) < 100_000


def test_it_stops_alerting_on_a_spike_that_comes_back_at_the_same_hour_every_day() -> None:
    # A nightly job: +15 at 03:00 for ten days (288 points a day).
    times = _five_minutes(10 * 288)
    values = _noise(len(times))
    nightly = [i for i, at in enumerate(times) if (at.hour, at.minute) == (3, 0)]
    for i in nightly:
        values[i] += 15.0
    scores = _scores(values, times=times)
    alerted = [i for i in nightly if max(scores[i : i + 3]) >= anomaly.THRESHOLD]
    assert alerted == nightly[:1]


def test_it_still_alerts_on_a_spike_at_an_hour_it_has_not_seen_one() -> None:
    times = _five_minutes(10 * 288)
    values = _noise(len(times))
    for i, at in enumerate(times):
        if (at.hour, at.minute) == (3, 0):
            values[i] += 15.0
    odd = 8 * 288 + 3 * 12  # day 9, 15:00
    values[odd] += 15.0
    assert max(_scores(values, times=times)[odd : odd + 3]) >= anomaly.THRESHOLD


def test_it_carries_on_from_a_state_saved_before_the_daily_memory() -> None:
    detector = AnomalyDetector()
    _scores(_noise(300), detector)
    old = detector.to_state() | {"version": 1}
    del old["daily"]
    restored = AnomalyDetector.from_state(json.loads(json.dumps(old)))
    assert _scores(_noise(50, seed=9), restored) == _scores(_noise(50, seed=9), detector)


def _version_2(state: dict[str, Any]) -> dict[str, Any]:
    """A state as version 2 saved it: three streams, no bar stream."""
    old: dict[str, Any] = json.loads(json.dumps(state))
    del old["window"], old["bars"], old["surprises"]["bar"], old["averages"]["bar"]
    slots = 3 * anomaly.HOURS
    daily = old["daily"]
    daily["today"] = daily["today"][:slots]
    daily["past"] = [day[:slots] for day in daily["past"]]
    return old | {"version": 2}


def test_it_carries_on_from_a_version_2_state_with_its_daily_memory() -> None:
    # Five days of a nightly spike: the restored detector still excuses the sixth night's.
    times = _five_minutes(6 * 288)
    values = _noise(len(times))
    nightly = [i for i, at in enumerate(times) if (at.hour, at.minute) == (3, 0)]
    for i in nightly:
        values[i] += 15.0
    detector = AnomalyDetector()
    cut = nightly[-1] - 12
    _scores(values[:cut], detector, times[:cut])
    restored = AnomalyDetector.from_state(_version_2(detector.to_state()))
    after = _scores(values[cut:], restored, times[cut:])
    assert max(after[12:15]) < anomaly.THRESHOLD


def test_it_starts_the_bar_stream_afresh_from_a_version_2_state() -> None:
    detector = AnomalyDetector()
    _scores(_noise(3000), detector, _five_minutes(3000))
    restored = AnomalyDetector.from_state(_version_2(detector.to_state()))
    state = restored.to_state()
    assert (state["version"], state["window"]["items"], state["bars"]["items"]) == (3, [], [])
    assert state["values"] == detector.to_state()["values"]


def test_it_rejects_a_state_whose_daily_memory_has_the_wrong_size() -> None:
    state = AnomalyDetector().to_state()
    state["daily"]["today"] = [0.0] * 5
    with pytest.raises(ValueError, match="malformed state"):
        AnomalyDetector.from_state(state)


def test_it_rejects_a_non_finite_value() -> None:
    with pytest.raises(ValueError, match="not a finite number"):
        AnomalyDetector().update(float("nan"))


def test_it_rejects_a_state_from_another_version() -> None:
    with pytest.raises(ValueError, match="unknown state version"):
        AnomalyDetector.from_state({"version": 99})
