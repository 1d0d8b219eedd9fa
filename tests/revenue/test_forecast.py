"""MRR forecast with intervals (`revenue/forecast.py`)."""

from __future__ import annotations

import itertools
import math
from datetime import date
from fractions import Fraction

import numpy as np
import pytest

from founderops.revenue.forecast import (
    MOVES,
    NEW_WEIGHT,
    ForecastInputError,
    SimulatedMonth,
    _Fit,
    _points,
    backtest,
    forecast_mrr,
    simulate_business,
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


# --- the bridge forecast -------------------------------------------------------------------------


def _bridged(
    news: list[float], loss_rate: float, start: float = 100_000.0, expansion_rate: float = 0.0
) -> tuple[list[float], list[dict[str, float]]]:
    """Month-end MRR and movements that bridge exactly: each month loses `loss_rate` of its
    start (half churn, half contraction), gains `expansion_rate` of it and `news[i]` new."""
    ends, moves, before = [start], [dict.fromkeys(MOVES, 0.0) | {"new": start}], start
    for new in news:
        loss, gain = before * loss_rate, before * expansion_rate
        month = {"new": new, "expansion": gain, "reactivation": 0.0}
        month |= {"contraction": loss / 2, "churn": loss / 2}
        before = before + new + gain - loss
        ends.append(before)
        moves.append(month)
    return ends, moves


def test_it_forecasts_by_the_bridge_when_given_the_movements() -> None:
    ends, moves = _bridged([5000] * 11, 0.05)
    assert forecast_mrr(_months(12), ends, 1, moves).method == "bridge"


def test_it_adds_the_expected_new_mrr_and_takes_the_expected_losses() -> None:
    ends, moves = _bridged([4000] * 11, 0.03, expansion_rate=0.01)
    (point,) = forecast_mrr(_months(12), ends, 1, moves).points
    assert point.mrr == pytest.approx(ends[-1] * (1 - 0.03 + 0.01) + 4000)


def test_it_holds_a_business_whose_new_mrr_replaces_its_churn() -> None:
    ends, moves = _bridged([5000] * 11, 0.05)
    points = forecast_mrr(_months(12), ends, 6, moves).points
    assert [p.mrr for p in points] == pytest.approx([100_000] * 6)


def test_it_weighs_recent_new_mrr_more_than_old() -> None:
    ends, moves = _bridged([1000.0] * 10 + [11000.0], 0.0)
    result = forecast_mrr(_months(12), ends, 1, moves)
    assert result.params["new"] == pytest.approx(1000 + NEW_WEIGHT * 10_000)


def test_it_keeps_a_rate_of_loss_as_the_business_grows() -> None:
    ends, moves = _bridged([20_000] * 11, 0.04)
    assert forecast_mrr(_months(12), ends, 1, moves).params["loss_rate"] == pytest.approx(0.04)


def test_it_counts_the_bridge_from_the_first_month_with_revenue() -> None:
    ends, moves = _bridged([3000] * 8, 0.02)
    zero = dict.fromkeys(MOVES, 0.0)
    result = forecast_mrr(_months(11), [0, 0, *ends], 1, [zero, zero, *moves])
    assert result.points[0].mrr == pytest.approx(ends[-1] * 0.98 + 3000)


def test_it_bands_the_bridge_by_its_own_one_month_errors() -> None:
    news = [2000.0, 8000.0] * 6
    ends, moves = _bridged(news[:11], 0.05)
    points = forecast_mrr(_months(12), ends, 6, moves).points
    for p in points:
        assert p.low95 < p.low80 < p.mrr < p.high80 < p.high95
    widths = [p.high95 / p.low95 for p in points]
    assert widths == sorted(widths)


def test_it_never_forecasts_the_bridge_below_a_cent() -> None:
    ends, moves = _bridged([0.0] * 11, 0.6)
    assert min(p.low95 for p in forecast_mrr(_months(12), ends, 12, moves).points) > 0


def test_it_refuses_movements_for_other_months_than_the_mrr() -> None:
    ends, moves = _bridged([5000] * 11, 0.05)
    with pytest.raises(ForecastInputError, match="12 months but 11 months of movements"):
        forecast_mrr(_months(12), ends, 1, moves[:11])


def test_it_refuses_a_month_without_one_of_the_movements() -> None:
    ends, moves = _bridged([5000] * 11, 0.05)
    del moves[3]["reactivation"]
    with pytest.raises(ForecastInputError, match="2024-04: no reactivation movement"):
        forecast_mrr(_months(12), ends, 1, moves)


def test_it_refuses_a_negative_movement() -> None:
    ends, moves = _bridged([5000] * 11, 0.05)
    moves[2]["churn"] = -1.0
    with pytest.raises(ForecastInputError, match="2024-03: the churn movement must be finite"):
        forecast_mrr(_months(12), ends, 1, moves)


def test_it_takes_the_engines_exact_fractions_as_movements() -> None:
    ends, moves = _bridged([5000] * 11, 0.05)
    exact = [{kind: Fraction(round(v * 3), 3) for kind, v in m.items()} for m in moves]
    assert forecast_mrr(_months(12), ends, 1, exact).method == "bridge"


def test_it_simulates_movements_that_bridge_every_month() -> None:
    months = simulate_business(np.random.default_rng(3), 36)
    start = 0.0
    for month in months:
        m = month.moves
        bridged = start + m["new"] + m["expansion"] + m["reactivation"]
        assert bridged - m["contraction"] - m["churn"] == pytest.approx(month.end, abs=1e-6)
        start = month.end


def test_it_simulates_the_same_mrr_with_its_movements_as_without() -> None:
    with_moves = simulate_business(np.random.default_rng(5), 24)
    assert [m.end for m in with_moves] == simulate_mrr(np.random.default_rng(5), 24)


def test_it_backtests_the_bridge_beside_the_damped_trend() -> None:
    # Growing from 50,000 towards the 100,000 where new MRR replaces the churn: the bridge
    # knows where it is heading, the last value does not.
    ends, moves = _bridged([5000] * 15, 0.05, start=50_000)
    history = [SimulatedMonth(end, month) for end, month in zip(ends, moves, strict=True)]
    figures = backtest([history], horizon=1, origins=range(12, 16))
    assert (figures["mape_pct"], "damped_trend" in figures) == (
        {"h1": pytest.approx(0, abs=0.01)},
        True,
    )


def test_it_takes_at_least_the_churn_already_scheduled_for_a_month() -> None:
    # $1,000 of MRR losing 5 % ($50) and winning $50 a month; $80 is scheduled to leave.
    ends, moves = _bridged([5000] * 11, 0.05)
    points = forecast_mrr(_months(12), ends, 2, moves, scheduled=[8000]).points
    assert [p.mrr for p in points] == pytest.approx([97_000, 97_000 * 0.95 + 5000])


def test_it_keeps_the_expected_churn_when_less_is_scheduled() -> None:
    ends, moves = _bridged([5000] * 11, 0.05)
    (point,) = forecast_mrr(_months(12), ends, 1, moves, scheduled=[3000]).points
    assert point.mrr == pytest.approx(100_000)


def test_it_says_how_much_scheduled_churn_it_counted() -> None:
    ends, moves = _bridged([5000] * 11, 0.05)
    result = forecast_mrr(_months(12), ends, 3, moves, scheduled=[8000, 0, 2000])
    assert result.scheduled_total == 10_000


def test_it_refuses_scheduled_churn_beyond_the_horizon() -> None:
    ends, moves = _bridged([5000] * 11, 0.05)
    with pytest.raises(ForecastInputError, match="within the horizon"):
        forecast_mrr(_months(12), ends, 1, moves, scheduled=[1, 2])
