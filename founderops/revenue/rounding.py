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

A drill-down line also shows the customer's MRR before and after (`movement_rows`), and its
before plus its part should be its after as shown. Both rules cannot always hold: the parts
must add up to the movement's shown total, and each customer's before and after rounded alone
may differ by a cent more or less than the part that sum leaves them. The parts adding up
wins, and the rows are kept consistent around them:

- the shown total is shared by largest remainder, but the cents go first to the lines whose
  own before and after, rounded alone, already differ by the part rounded up (and last to
  those whose differ by the part rounded down), so as many lines as possible show exactly
  their before and after rounded;
- on a line still a cent apart, the side that is not zero moves (the after, unless the
  customer left: then the before), so that before + part = after as shown; that side is
  then within a cent and a half of its exact value, not half a cent, and may read a cent
  off the same customer's MRR on another page.

A customer who made more than one movement in the month (an expansion and FX) has a before
and after that differ by more than this one part: those lines show both rounded alone.
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


def allocate(
    parts: Sequence[Fraction | int],
    total: int,
    prefer: Sequence[int | None] | None = None,
) -> list[int]:
    """Whole cents for `parts` adding up to `total` (within a cent of their exact sum for
    each part to stay within a cent of its exact value), by largest remainder.

    `prefer` (one per part, None for no wish) is the whole cents a part would rather show:
    the parts wishing to be rounded up get the cents left over first, those wishing to be
    rounded down last; largest remainder decides within each group."""
    exact = [Fraction(part) for part in parts]
    floors = [math.floor(value) for value in exact]
    left = total - sum(floors)
    if not exact:
        if total:
            raise ValueError(f"no parts to share {total} cents among")
        return []
    wishes = list(prefer) if prefer is not None else [None] * len(exact)

    def group(i: int) -> int:
        wish = wishes[i]
        return 1 if wish is None else 0 if wish > floors[i] else 2

    # Who lost the most to rounding down gets a cent first; a larger amount first on a tie.
    order = sorted(
        range(len(exact)),
        key=lambda i: (group(i), -(exact[i] - floors[i]), -abs(exact[i]), i),
    )
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


@dataclass(frozen=True)
class Row:
    """A drill-down line in whole cents: MRR before, the customer's part of the movement (as
    the engine gives it: losses positive) and MRR after."""

    before: int
    part: int
    after: int


@dataclass(frozen=True)
class Exact:
    """A drill-down line's exact figures; `sign` is how the part moves MRR (-1 for a loss)."""

    before: Fraction
    part: Fraction
    after: Fraction
    sign: int = 1

    @property
    def alone(self) -> bool:
        """Whether this part is the customer's whole change in the month."""
        return self.before + self.sign * self.part == self.after


def movement_rows(lines: Sequence[Exact], total: int) -> list[Row]:
    """Whole cents for a movement's lines, their parts adding up to `total` (the movement as
    shown) and each line's before + part = after wherever the part is the customer's whole
    change in the month (the module's docstring has the rule)."""
    wishes = [
        line.sign * (half_up(line.after) - half_up(line.before)) if line.alone else None
        for line in lines
    ]
    parts = allocate([line.part for line in lines], total, wishes)
    out = []
    for line, part in zip(lines, parts, strict=True):
        before, after = half_up(line.before), half_up(line.after)
        if line.alone and after - before != line.sign * part:
            if line.after == 0:
                before = after - line.sign * part
            else:
                after = before + line.sign * part
        out.append(Row(before, part, after))
    return out
