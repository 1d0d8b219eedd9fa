"""Exact cents to whole cents so that the parts shown add up to the totals shown.

The engine's figures are exact fractions of a cent, and their sums agree exactly: a month's
start plus its movements is its end, and a movement's customers add up to the movement. Rounded
one by one, the figures on a page can miss their total by a cent. Accounting reports round so
that they do not, and so do the revenue pages, the briefing and the reports' CSV files:

- A bridge (start, then each movement with its sign, ending at the end) rounds its running
  sums and shows their differences (`bridge`): the shown start and end are the exact ones
  rounded, the shown movements add up from one to the other, and the end of one month is the
  start of the next, rounded alike.
- Parts of a total already shown (a movement's customers) get that total by largest remainder
  (`allocate`): each part its exact value rounded down, and the cents left over to the parts
  that lost the most, larger amounts first on a tie.

Either way each shown part is within one cent of its exact value (`half_up` is the rule for a
single figure: half a cent away from zero, Decimal's ROUND_HALF_UP).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction


def half_up(cents: Fraction | int) -> int:
    """Whole cents, half a cent rounded away from zero."""
    value = Fraction(cents)
    units = int(abs(value) + Fraction(1, 2))
    return -units if value < 0 else units


def bridge(parts: Sequence[Fraction | int]) -> list[int]:
    """Whole cents for the signed `parts` of a running total (the first is where it starts):
    the differences of the rounded running sums, so they add up to the rounded total."""
    shown, running, before = [], Fraction(0), 0
    for part in parts:
        running += part
        after = half_up(running)
        shown.append(after - before)
        before = after
    return shown


def allocate(parts: Sequence[Fraction | int], total: int) -> list[int]:
    """Whole cents for `parts` adding up to `total` (within a cent of their exact sum for
    each part to stay within a cent of its exact value), by largest remainder."""
    exact = [Fraction(part) for part in parts]
    floors = [math.floor(value) for value in exact]
    left = total - sum(floors)
    if not exact:
        if total:
            raise ValueError(f"no parts to share {total} cents among")
        return []
    # Who lost the most to rounding down gets a cent first; a larger amount first on a tie.
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), -abs(exact[i]), i))
    shown = list(floors)
    step = 1 if left >= 0 else -1
    # Taking cents back (a total below the sum of the floors) starts from the smallest loss.
    ranked = order if left >= 0 else order[::-1]
    for number in range(abs(left)):
        shown[ranked[number % len(ranked)]] += step
    return shown


# The movements that lower MRR: the engine gives every movement as a positive amount.
LOSSES = ("contraction", "churn")


@dataclass(frozen=True)
class Bridge:
    """One month (or day) of the MRR bridge in whole cents: start + movements + fx = end."""

    start: int
    # As the engine gives them: amounts, losses positive too.
    moves: dict[str, int]
    fx: int
    end: int

    def signed(self, kind: str) -> int:
        return -self.moves[kind] if kind in LOSSES else self.moves[kind]

    @property
    def net(self) -> int:
        return self.end - self.start


def month_bridge(start: Fraction, moves: Mapping[str, Fraction], fx: Fraction) -> Bridge:
    """The bridge from `start` through `moves` (in their order) and `fx`, rounded together."""
    kinds = list(moves)
    signed = [start, *(-moves[k] if k in LOSSES else moves[k] for k in kinds), fx]
    shown = bridge(signed)
    amounts = {
        kind: -cents if kind in LOSSES else cents
        for kind, cents in zip(kinds, shown[1:-1], strict=True)
    }
    return Bridge(shown[0], amounts, shown[-1], sum(shown))
