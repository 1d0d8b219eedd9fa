"""Subscription cohorts: customers grouped by the month they first paid, and how many of them,
and how much of their MRR, are there at each later month's end.

The engine already knows each customer's first paid day (their "new" movement) and their MRR
at every month's end, so a table is a few array look-ups. A customer who first paid before the
range starts belongs to its first month. Retention is survival at month ends: a customer
who left and came back counts again from the month they are paying again. For one-off
purchases (no MRR), `retail.cohort_table` gives the purchase-based table instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction

import numpy as np

from founderops.revenue.engine import Result


@dataclass(frozen=True)
class Cohort:
    month: date
    customers: int
    # [k]: members paying at the end of the k-th month after `month` (k = 0: its own end)
    retained: tuple[int, ...]
    # [k]: their MRR at that month's end, in cents (exact)
    mrr: tuple[Fraction, ...]

    def customer_retention(self, k: int) -> Fraction:
        return Fraction(self.retained[k], self.customers)

    def revenue_retention(self, k: int) -> Fraction | None:
        """MRR at the k-th month's end over MRR at the end of the cohort's first month."""
        return None if self.mrr[0] == 0 else self.mrr[k] / self.mrr[0]


def cohorts(result: Result) -> list[Cohort]:
    """One cohort per month of the range in which somebody first paid, oldest first."""
    first = result.block.first_paid
    month_end = result.block.month_end
    months = len(result.calendar.months)
    size = np.zeros(months, dtype=np.int64)
    np.add.at(size, first[first >= 0], 1)
    retained = np.zeros((months, months), dtype=np.int64)
    mrr = np.zeros((months, months), dtype=np.int64)
    for k in range(months):
        members = np.flatnonzero((first >= 0) & (first + k < months))
        values = month_end[members, first[members] + k]
        np.add.at(retained[:, k], first[members], values > 0)
        np.add.at(mrr[:, k], first[members], values)
    return [
        Cohort(
            month=result.calendar.months[c],
            customers=int(size[c]),
            retained=tuple(int(n) for n in retained[c, : months - c]),
            mrr=tuple(result.cents(units) for units in mrr[c, : months - c]),
        )
        for c in range(months)
        if size[c]
    ]
