"""Anomaly alerts on daily series: robust baseline, quiet start (`revenue/insights.py`)."""

from __future__ import annotations

import math
from datetime import date, timedelta

from founderops.revenue.insights import (
    FAILED_PAYMENTS_SPIKE,
    NEW_MRR_DROP,
    Alert,
    alert_on,
    alerts,
    describe,
)

START = date(2025, 1, 1)


def _series(values: list[float]) -> dict[date, float]:
    return {START + timedelta(days=i): v for i, v in enumerate(values)}


def _new_mrr(weeks: int, per_day: float = 10_000) -> list[float]:
    # A weekday rhythm: nothing at weekends, so days alone would look alarming.
    return [0.0 if i % 7 in (5, 6) else per_day for i in range(7 * weeks)]


def test_it_stays_quiet_on_a_steady_business() -> None:
    assert alerts(_series(_new_mrr(12)), NEW_MRR_DROP) == []


def test_it_alerts_when_a_weeks_new_mrr_collapses() -> None:
    values = _new_mrr(10) + [500.0] * 7
    found = alerts(_series(values), NEW_MRR_DROP)
    assert found[0].day >= START + timedelta(days=70)


def test_it_does_not_alert_in_the_first_weeks_of_history() -> None:
    values = _new_mrr(3) + [0.0] * 7
    assert alerts(_series(values), NEW_MRR_DROP) == []


def test_it_alerts_on_a_spike_of_failed_payments() -> None:
    values = [float(i % 3 == 0) for i in range(40)] + [9.0]
    found = alerts(_series(values), FAILED_PAYMENTS_SPIKE)
    assert [(a.day, a.value, a.usual) for a in found] == [(START + timedelta(days=40), 9.0, 0.0)]


def test_it_does_not_alert_on_one_failed_payment_after_weeks_of_none() -> None:
    assert alerts(_series([0.0] * 40 + [1.0]), FAILED_PAYMENTS_SPIKE) == []


def test_it_does_not_alert_on_a_spike_in_the_first_two_weeks() -> None:
    assert alerts(_series([0.0] * 10 + [20.0]), FAILED_PAYMENTS_SPIKE) == []


def test_it_is_not_moved_by_one_earlier_outlier_in_the_baseline() -> None:
    values = [1.0] * 20 + [30.0] + [1.0] * 20 + [12.0]
    found = alerts(_series(values), FAILED_PAYMENTS_SPIKE)
    assert found[-1].day == START + timedelta(days=41)


def test_it_counts_missing_days_as_zero() -> None:
    series = {START: 1.0, START + timedelta(days=40): 8.0}
    assert [a.value for a in alerts(series, FAILED_PAYMENTS_SPIKE)] == [8.0]


def test_it_answers_for_one_day_only() -> None:
    values = [0.0] * 30 + [9.0, 9.0]
    found = alert_on(_series(values), FAILED_PAYMENTS_SPIKE, START + timedelta(days=30))
    assert found is not None
    assert found.day == START + timedelta(days=30)


def test_it_answers_none_for_a_quiet_day() -> None:
    assert alert_on(_series([0.0] * 30), FAILED_PAYMENTS_SPIKE, START + timedelta(days=29)) is None


def test_it_returns_nothing_for_an_empty_series() -> None:
    assert alerts({}, FAILED_PAYMENTS_SPIKE) == []


def test_it_describes_a_new_mrr_drop_in_dollars() -> None:
    alert = Alert("new_mrr", "drop", date(2025, 3, 9), 3500.0, 50_000.0, -6.0)
    assert describe(alert) == "New MRR fell to $35 (usually $500) as of 2025-03-09"


def test_it_describes_a_failed_payment_spike_in_counts() -> None:
    alert = Alert("failed_payments", "spike", date(2025, 3, 9), 9.0, 1.0, math.inf)
    assert describe(alert) == "Failed payments jumped to 9 (usually 1) as of 2025-03-09"
