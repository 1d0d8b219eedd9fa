"""MRR forecast with intervals (`revenue/forecast.py`)."""

from __future__ import annotations

import itertools
import math
from datetime import date
from fractions import Fraction

import numpy as np
import pytest

from founderops.revenue.forecast import (
    ForecastInputError,
    _Fit,
    _points,
    backtest,
    forecast_mrr,
    simulate_mrr,
)


def _months(count: int, first: date = date(2024, 1, 1)) -> list[date]:
    return [
        date(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 1)
        for i in range(count)
    ]


GROWING = [100_000 * 1.05**i for i in range(24)]
# Computed with statsmodels 0.15 ExponentialSmoothing(trend="add", damped_trend=True,
# initialization_method="estimated") on log MRR, for a cross-check of our own fit.
REFERENCE_SERIES = [
    100000,
    104000,
    109500,
    112000,
    118000,
    121500,
    127000,
    131000,
    133500,
    140000,
    143000,
    149500,
]
REFERENCE_STATSMODELS = [152_900, 157_400, 161_900]


def test_it_forecasts_the_months_after_the_history() -> None:
    result = forecast_mrr(_months(12, date(2024, 3, 1)), GROWING[:12], horizon=3)
    assert [p.month for p in result.points] == [
        date(2025, 3, 1),
        date(2025, 4, 1),
        date(2025, 5, 1),
    ]


def test_it_continues_steady_growth() -> None:
    result = forecast_mrr(_months(24), GROWING, horizon=1)
    assert result.points[0].mrr == pytest.approx(GROWING[-1] * 1.05, rel=0.01)


def test_it_damps_the_trend_so_growth_slows_with_the_horizon() -> None:
    points = forecast_mrr(_months(24), GROWING, horizon=12).points
    growth = [b.mrr / a.mrr for a, b in itertools.pairwise(points)]
    assert growth == sorted(growth, reverse=True)


def test_it_nests_the_80_interval_inside_the_95() -> None:
    for p in forecast_mrr(_months(12), REFERENCE_SERIES, horizon=6).points:
        assert p.low95 < p.low80 < p.mrr < p.high80 < p.high95


def test_it_widens_the_interval_with_the_horizon() -> None:
    points = forecast_mrr(_months(12), REFERENCE_SERIES, horizon=6).points
    widths = [p.high95 / p.low95 for p in points]
    assert widths == sorted(widths)


def test_it_never_forecasts_below_zero() -> None:
    falling = [100_000 * 0.6**i for i in range(10)]
    assert min(p.low95 for p in forecast_mrr(_months(10), falling, 12).points) > 0


def test_it_matches_statsmodels_on_a_reference_series() -> None:
    result = forecast_mrr(_months(12), REFERENCE_SERIES, horizon=3)
    assert [round(p.mrr, -2) for p in result.points] == pytest.approx(
        REFERENCE_STATSMODELS, rel=0.01
    )


def test_it_forecasts_flat_below_six_months() -> None:
    result = forecast_mrr(_months(4), [1000, 1200, 1100, 1300], horizon=3)
    assert [p.mrr for p in result.points] == pytest.approx([1300, 1300, 1300])


def test_it_notes_why_a_short_history_is_flat() -> None:
    result = forecast_mrr(_months(4), [1000, 1200, 1100, 1300], horizon=3)
    assert (result.method, "only 4 month(s)" in result.note) == ("flat", True)


def test_it_keeps_a_short_historys_interval_at_least_ten_per_cent_a_month() -> None:
    point = forecast_mrr(_months(3), [1000, 1000, 1000], horizon=1).points[0]
    assert point.high80 / point.mrr == pytest.approx(math.exp(1.2816 * 0.10), rel=1e-3)


def test_it_counts_history_from_the_first_month_with_revenue() -> None:
    result = forecast_mrr(_months(8), [0, 0, 0, 500, 600, 700, 800, 900], horizon=1)
    assert "only 5 month(s)" in result.note


def test_it_forecasts_near_zero_after_a_business_lost_every_customer() -> None:
    result = forecast_mrr(_months(8), [900, 900, 950, 1000, 1000, 1100, 0, 0], horizon=1)
    assert result.points[0].mrr < 50


def test_it_refuses_months_that_skip() -> None:
    with pytest.raises(ForecastInputError, match="consecutive"):
        forecast_mrr([date(2024, 1, 1), date(2024, 3, 1)], [1, 2])


def test_it_refuses_a_history_without_revenue() -> None:
    with pytest.raises(ForecastInputError, match="no month with revenue"):
        forecast_mrr(_months(3), [0, 0, 0])


def test_it_refuses_negative_mrr() -> None:
    with pytest.raises(ForecastInputError, match="not negative"):
        forecast_mrr(_months(2), [5, -1])


def test_it_refuses_a_horizon_of_zero() -> None:
    with pytest.raises(ForecastInputError, match="horizon"):
        forecast_mrr(_months(2), [5, 6], horizon=0)


def test_it_refuses_months_and_values_of_different_lengths() -> None:
    with pytest.raises(ForecastInputError, match="3 months but 2"):
        forecast_mrr(_months(3), [5, 6])


def test_it_simulates_the_same_business_from_the_same_seed() -> None:
    first, second = (simulate_mrr(np.random.default_rng(7), 24) for _ in range(2))
    assert first == second


def test_it_backtests_every_horizon_the_history_still_has() -> None:
    figures = backtest([GROWING[:10]], horizon=2, origins=range(8, 10))
    # origin 8: h1 and h2 exist; origin 9: only h1.
    assert figures["forecasts_scored"] == 3


def test_it_scores_a_perfect_forecast_of_steady_growth_close_to_zero_error() -> None:
    figures = backtest([GROWING], horizon=1, origins=range(12, 24))
    assert figures["mape_pct"] == {"h1": pytest.approx(0, abs=0.5)}


def test_it_takes_the_engines_exact_fractions_of_a_cent() -> None:
    exact = [Fraction(int(v * 3), 3) for v in GROWING[:8]]
    assert forecast_mrr(_months(8), exact, horizon=1).method == "damped_trend"


def test_it_widens_the_band_when_sigma_rests_on_few_residuals() -> None:
    few, many = (_Fit(0.5, 0.1, 0.9, level=10.0, trend=0.0, sigma=0.1, dof=dof) for dof in (2, 30))
    (narrow,), (wide,) = _points(many, [date(2025, 1, 1)]), _points(few, [date(2025, 1, 1)])
    assert wide.high95 / wide.low95 > narrow.high95 / narrow.low95
