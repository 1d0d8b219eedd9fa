"""Rounding exact cents so that the shown parts add up to the shown totals."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from founderops.revenue.rounding import (
    Exact,
    Row,
    allocate,
    bridge,
    half_up,
    month_bridge,
    movement_rows,
)

# Exact cents as the engine makes them: FX-converted, so any fraction of a cent.
CENTS = st.fractions(min_value=Fraction(-(10**7)), max_value=Fraction(10**7), max_denominator=10**6)
PARTS = st.lists(CENTS, min_size=1, max_size=12)


def test_it_rounds_half_a_cent_away_from_zero() -> None:
    assert [half_up(Fraction(x, 2)) for x in (1, 3, -1, -3)] == [1, 2, -1, -2]


def test_it_keeps_a_bridge_whose_figures_rounded_alone_miss_the_end() -> None:
    # $100.004 + $0.004 + $0.004 ends at $100.012: one by one 10000 + 0 + 0 is a cent short.
    parts = [Fraction(10_000_4, 10), Fraction(4, 10), Fraction(4, 10)]
    naive = [half_up(part) for part in parts]
    assert sum(naive) != half_up(sum(parts, Fraction(0)))
    assert sum(bridge(parts)) == half_up(sum(parts, Fraction(0))) == 10_001


def test_it_gives_the_cent_to_the_last_running_sum_that_crossed_it() -> None:
    assert bridge([Fraction(10_000_4, 10), Fraction(4, 10), Fraction(4, 10)]) == [10_000, 1, 0]


def test_it_shares_a_total_that_rounding_each_line_would_miss() -> None:
    # Three customers of a third of a cent each: one by one nothing, together a cent.
    thirds = [Fraction(1, 3)] * 3
    assert sum(half_up(part) for part in thirds) == 0
    assert allocate(thirds, 1) == [1, 0, 0]


def test_it_gives_the_left_over_cent_to_the_largest_remainder() -> None:
    assert allocate([Fraction(10_2, 10), Fraction(20_7, 10), Fraction(5_1, 10)], 36) == [
        10,
        21,
        5,
    ]


def test_it_breaks_a_tie_in_favour_of_the_larger_amount() -> None:
    assert allocate([Fraction(1, 2), Fraction(41, 2)], 21) == [0, 21]


def test_it_takes_a_cent_back_when_the_total_is_below_the_floors() -> None:
    assert allocate([Fraction(3), Fraction(5, 2)], 4) == [2, 2]


def test_it_shares_nothing_among_no_parts() -> None:
    assert allocate([], 0) == []


def test_it_refuses_to_share_cents_among_no_parts() -> None:
    with pytest.raises(ValueError, match="no parts to share 3 cents"):
        allocate([], 3)


def test_it_signs_losses_in_a_month_bridge_and_shows_them_as_amounts() -> None:
    shown = month_bridge(
        Fraction(1_000_5, 10),
        {"new": Fraction(2), "churn": Fraction(1_4, 10)},
        Fraction(0),
    )
    # 1000.5 -> 1001; +2 -> 1002.5 -> 1003; -1.4 -> 1001.1 -> 1001.
    assert (shown.start, shown.moves, shown.fx, shown.end) == (
        1001,
        {"new": 2, "churn": 2},
        0,
        1001,
    )
    assert (shown.signed("churn"), shown.net) == (-2, 0)


@given(PARTS)
def test_it_adds_a_bridge_up_to_its_rounded_total(parts: list[Fraction]) -> None:
    assert sum(bridge(parts)) == half_up(sum(parts, Fraction(0)))


@given(PARTS)
def test_it_keeps_each_bridge_part_within_a_cent(parts: list[Fraction]) -> None:
    assert all(abs(s - e) <= 1 for s, e in zip(bridge(parts), parts, strict=True))


@given(PARTS, st.integers(min_value=-1, max_value=1))
def test_it_adds_allocated_parts_up_to_the_shown_total(parts: list[Fraction], off: int) -> None:
    total = half_up(sum(parts, Fraction(0))) + off
    assert sum(allocate(parts, total)) == total


@given(PARTS)
def test_it_keeps_each_allocated_part_within_a_cent(parts: list[Fraction]) -> None:
    shown = allocate(parts, half_up(sum(parts, Fraction(0))))
    assert all(abs(s - e) <= 1 for s, e in zip(shown, parts, strict=True))


@given(PARTS, st.sampled_from([-1, 1]))
def test_it_keeps_parts_within_a_cent_of_a_total_a_cent_off_their_sum(
    parts: list[Fraction], off: int
) -> None:
    # A movement's shown total is its bridge cell: within a cent of the exact sum, not equal.
    exact = sum(parts, Fraction(0))
    total = half_up(exact) + off
    if abs(total - exact) <= 1:
        shown = allocate(parts, total)
        assert all(abs(s - e) <= 1 for s, e in zip(shown, parts, strict=True))


@given(st.lists(PARTS, min_size=1, max_size=6))
def test_it_starts_each_month_where_the_last_ended(months: list[list[Fraction]]) -> None:
    start, ends, starts = Fraction(0), [], []
    for moves in months:
        shown = month_bridge(start, {f"m{i}": m for i, m in enumerate(moves)}, Fraction(0))
        starts.append(shown.start)
        ends.append(shown.end)
        start += sum(moves, Fraction(0))
    assert starts[1:] == ends[:-1]


def test_it_gives_the_left_over_cent_first_to_a_part_that_prefers_it() -> None:
    # By remainder alone the cent would go to the first part (.6 beats .4).
    assert allocate([Fraction(106, 10), Fraction(54, 10)], 16, [10, 6]) == [10, 6]


def test_it_shows_a_new_customers_after_as_their_part_when_the_total_needs_the_cent() -> None:
    # $0 to $29.154: alone that reads $29.15; the movement's shown total gives them $29.16.
    [row] = movement_rows([Exact(Fraction(0), Fraction(2915_4, 10), Fraction(2915_4, 10))], 2916)
    assert row == Row(0, 2916, 2916)


def test_it_keeps_a_churned_customers_after_at_zero() -> None:
    [row] = movement_rows(
        [Exact(Fraction(2915_4, 10), Fraction(2915_4, 10), Fraction(0), -1)], 2916
    )
    assert row == Row(2916, 2916, 0)


def test_it_shows_before_and_after_rounded_alone_when_the_cents_allow() -> None:
    # One cent is left over: by remainder it would go to the second line (.6 beats .3),
    # whose own before and after (11 and 15) differ by its part rounded down.
    lines = [
        Exact(Fraction(10_3, 10), Fraction(10_3, 10), Fraction(20_6, 10)),
        Exact(Fraction(10_6, 10), Fraction(4_6, 10), Fraction(15_2, 10)),
    ]
    assert allocate([line.part for line in lines], 15) == [10, 5]
    assert movement_rows(lines, 15) == [Row(10, 11, 21), Row(11, 4, 15)]


def test_it_rounds_alone_the_before_and_after_of_a_customer_who_moved_twice() -> None:
    # An expansion of $5.004 beside FX: $10.004 to $15.50 is more than the part.
    [row] = movement_rows(
        [Exact(Fraction(10_004, 1000), Fraction(5_004, 1000), Fraction(155, 10))], 5
    )
    assert row == Row(10, 5, 16)


LINES = st.lists(st.tuples(CENTS.map(abs), CENTS, st.sampled_from([-1, 1])), min_size=1, max_size=8)


def _exact(drawn: list[tuple[Fraction, Fraction, int]]) -> list[Exact]:
    return [
        Exact(before, abs(part), before + sign * abs(part), sign) for before, part, sign in drawn
    ]


def _total(lines: list[Exact]) -> int:
    return half_up(sum((line.part for line in lines), Fraction(0)))


@given(LINES)
def test_it_adds_each_rows_before_and_part_up_to_its_after(
    drawn: list[tuple[Fraction, Fraction, int]],
) -> None:
    lines = _exact(drawn)
    rows = movement_rows(lines, _total(lines))
    assert all(
        r.before + line.sign * r.part == r.after for r, line in zip(rows, lines, strict=True)
    )


@given(LINES)
def test_it_adds_the_rows_parts_up_to_the_shown_total(
    drawn: list[tuple[Fraction, Fraction, int]],
) -> None:
    lines = _exact(drawn)
    assert sum(r.part for r in movement_rows(lines, _total(lines))) == _total(lines)


@given(LINES)
def test_it_keeps_a_rows_before_and_after_within_a_cent_and_a_half(
    drawn: list[tuple[Fraction, Fraction, int]],
) -> None:
    lines = _exact(drawn)
    rows = movement_rows(lines, _total(lines))
    assert all(
        abs(r.before - line.before) <= Fraction(3, 2)
        and abs(r.after - line.after) <= Fraction(3, 2)
        for r, line in zip(rows, lines, strict=True)
    )
