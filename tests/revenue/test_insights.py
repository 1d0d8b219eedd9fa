"""Segments, plan moves, discount dependence (`revenue/insights.py`)."""

from __future__ import annotations

from datetime import date

import pytest

from founderops.revenue.insights import (
    SIZE_BANDS,
    TENURE_BANDS,
    CustomerPeriod,
    PlanChange,
    band,
    discount_dependence,
    plan_moves,
    segments,
)

DAY = date(2025, 3, 1)


def _p(customer: str, start: int, end: int, **kw: object) -> CustomerPeriod:
    values: dict[str, object] = {"plan": "pro", "tenure_months": 5, "discount_start": 0} | kw
    return CustomerPeriod(customer, mrr_start=start, mrr_end=end, **values)  # type: ignore[arg-type]


def _segment(rows: list[CustomerPeriod], dimension: str, name: str) -> tuple[int, int, int]:
    found = [s for s in segments(rows) if s.dimension == dimension and s.name == name]
    assert len(found) == 1
    return found[0].customers, found[0].churned, found[0].churned_mrr


def test_it_counts_a_customer_whose_mrr_fell_to_zero_as_churned() -> None:
    assert _p("a", 1000, 0).churned


def test_it_does_not_count_a_new_customer_as_churned() -> None:
    assert not _p("a", 0, 1000).churned


def test_it_groups_churn_by_plan() -> None:
    rows = [_p("a", 1000, 0), _p("b", 1000, 1000), _p("c", 900, 900, plan="basic")]
    assert _segment(rows, "plan", "pro") == (2, 1, 1000)


def test_it_leaves_new_customers_out_of_a_segments_churn_base() -> None:
    rows = [_p("a", 1000, 1000), _p("new", 0, 5000)]
    assert _segment(rows, "plan", "pro") == (1, 0, 0)


def test_it_bands_tenure() -> None:
    rows = [_p("a", 1000, 0, tenure_months=1), _p("b", 1000, 1000, tenure_months=30)]
    assert _segment(rows, "tenure", "0-2 months") == (1, 1, 1000)


def test_it_bands_size_by_mrr_at_the_start() -> None:
    assert _segment([_p("a", 25_000, 0)], "size", "$200-999") == (1, 1, 25_000)


@pytest.mark.parametrize(
    ("value", "name"), [(0, "< $50"), (4_999, "< $50"), (5_000, "$50-199"), (100_000, "$1,000+")]
)
def test_it_puts_band_edges_in_the_upper_band(value: int, name: str) -> None:
    assert band(value, SIZE_BANDS) == name


def test_it_names_the_tenure_band_of_two_years() -> None:
    assert band(24, TENURE_BANDS) == "24+ months"


def test_it_computes_customer_and_revenue_churn_rates() -> None:
    rows = [_p("a", 3000, 0), _p("b", 1000, 1000), _p("c", 1000, 1000), _p("d", 1000, 1000)]
    pro = next(s for s in segments(rows) if s.name == "pro")
    assert (pro.churn_rate, pro.revenue_churn_rate) == (0.25, 0.5)


def _change(customer: str, source: str, target: str, before: int, after: int) -> PlanChange:
    return PlanChange(customer, DAY, source, target, before, after)


def test_it_counts_moves_between_two_plans_with_their_mrr() -> None:
    moves = plan_moves(
        [_change("a", "basic", "pro", 900, 2900), _change("b", "basic", "pro", 900, 2900)]
    )
    assert [(m.from_plan, m.to_plan, m.customers, m.mrr_change) for m in moves] == [
        ("basic", "pro", 2, 4000)
    ]


def test_it_keeps_downgrades_apart_from_upgrades() -> None:
    moves = plan_moves(
        [_change("a", "basic", "pro", 900, 2900), _change("b", "pro", "basic", 2900, 900)]
    )
    assert {(m.from_plan, m.mrr_change) for m in moves} == {("basic", 2000), ("pro", -2000)}


def test_it_counts_a_customer_once_but_every_change() -> None:
    moves = plan_moves([_change("a", "basic", "pro", 900, 2900)] * 2)
    assert (moves[0].customers, moves[0].changes) == (1, 2)


def test_it_ignores_a_renewal_on_the_same_plan() -> None:
    assert plan_moves([_change("a", "pro", "pro", 2900, 2900)]) == []


def test_it_orders_plan_moves_by_mrr_effect() -> None:
    moves = plan_moves([_change("a", "a", "b", 100, 200), _change("b", "c", "d", 100, 5000)])
    assert [m.from_plan for m in moves] == ["c", "a"]


def test_it_measures_the_share_of_mrr_from_discounted_customers() -> None:
    rows = [_p("a", 800, 800, discount_start=200), _p("b", 3200, 3200)]
    assert discount_dependence(rows).discounted_mrr_share == 0.2


def test_it_measures_the_share_of_list_price_given_away() -> None:
    rows = [_p("a", 800, 800, discount_start=200), _p("b", 1000, 1000)]
    assert discount_dependence(rows).discount_share_of_list == 0.1


def test_it_compares_churn_of_discounted_and_full_price_customers() -> None:
    rows = [
        _p("a", 800, 0, discount_start=200),
        _p("b", 800, 800, discount_start=200),
        _p("c", 1000, 1000),
    ]
    found = discount_dependence(rows)
    assert (found.discounted_churn_rate, found.full_price_churn_rate) == (0.5, 0.0)


def test_it_reports_no_rate_for_a_group_without_customers() -> None:
    assert discount_dependence([_p("a", 1000, 1000)]).discounted_churn_rate is None
