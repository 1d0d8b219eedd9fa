"""The revenue insights page's figures, assembled from one snapshot: CAC and payback per month
with recorded spend, trial conversion, failed-payment recovery, the cash-flow projection, and
segments, plan moves and discount dependence over the last complete quarter.

Each part that can be refused by the records (a spend or invoice currency without a rate) is
computed on its own, so one refusal shows its message in its place and the rest still shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from founderops.core.errors import InvalidInput
from founderops.reports.revenue import Snapshot, gross_margin
from founderops.revenue import cashflow, insights, metrics, spend
from founderops.revenue.billing import RevenueInputError

# Trials and failed payments shown, newest month first; cash flow projected this far ahead.
MONTHS_SHOWN = 12
PROJECTED_MONTHS = 12
# Segments and discount dependence follow customers over this many complete months.
SEGMENT_MONTHS = 3
DIMENSION_NAMES = {"plan": "Plan", "tenure": "Tenure", "size": "Size (MRR a month)"}


@dataclass(frozen=True)
class Acquisition:
    rows: list[metrics.Acquisition]
    recorded: bool  # any spend recorded at all (through the snapshot's day)
    problem: str  # why CAC cannot be shown ("" when it can)


@dataclass(frozen=True)
class Cashflow:
    projection: cashflow.Projection | None
    problem: str


@dataclass(frozen=True)
class SegmentGroup:
    dimension: str
    name: str
    segments: list[insights.Segment]


@dataclass(frozen=True)
class Matrix:
    """Plan moves as a from (rows) x to (columns) table; a cell is None where nobody moved."""

    plans: list[str]
    rows: list[tuple[str, list[insights.PlanMove | None]]]


@dataclass(frozen=True)
class Period:
    start: date  # customers paying at the end of this month...
    end: date  # ...followed to the end of this one


@dataclass(frozen=True)
class Insights:
    acquisition: Acquisition
    trials: list[metrics.Conversion]
    recovery: list[metrics.Recovery]
    cashflow: Cashflow
    period: Period | None  # None: not two complete months yet
    segments: list[SegmentGroup]
    discounts: insights.DiscountDependence | None
    moves: list[insights.PlanMove]
    matrix: Matrix


def insights_of(snap: Snapshot) -> Insights:
    result = snap.result
    period, periods = _periods(snap)
    moves = insights.plan_moves(insights.plan_changes_from_ledger(snap.ledger))
    return Insights(
        acquisition=acquisition(snap),
        trials=list(reversed(metrics.trial_conversion(result)))[:MONTHS_SHOWN],
        recovery=list(reversed(metrics.payment_recovery(result)))[:MONTHS_SHOWN],
        cashflow=projected(snap),
        period=period,
        segments=_groups(insights.segments(periods)) if period else [],
        discounts=insights.discount_dependence(periods) if period else None,
        moves=moves,
        matrix=matrix(moves),
    )


def acquisition(snap: Snapshot) -> Acquisition:
    """CAC and payback for each month with spend recorded up to the snapshot's day."""
    try:
        recorded = spend.spend_by_month(through=snap.as_of)
        rows = metrics.acquisition(snap.result, recorded, gross_margin())
    except (InvalidInput, RevenueInputError) as error:
        return Acquisition([], True, str(error))
    return Acquisition(list(reversed(rows)), bool(recorded), "")


def projected(snap: Snapshot) -> Cashflow:
    try:
        return Cashflow(cashflow.projection(snap.result, months=PROJECTED_MONTHS), "")
    except RevenueInputError as error:
        return Cashflow(None, str(error))


def _periods(snap: Snapshot) -> tuple[Period | None, list[insights.CustomerPeriod]]:
    """Customers from the end of the month SEGMENT_MONTHS before the last complete one (or the
    first month) to the end of that last complete month."""
    end = snap.complete
    if end < 1:
        return None, []
    start = max(end - SEGMENT_MONTHS, 0)
    months = [m.month for m in snap.result.months]
    month_end = snap.result.month_end_by_name()
    periods = insights.periods_from_ledger(snap.ledger, months, month_end, start, end)
    return Period(months[start], months[end]), periods


def _groups(found: list[insights.Segment]) -> list[SegmentGroup]:
    """By dimension; bands in their own order (smallest first), plans by name."""
    order = {
        name: rank for rank, (_, name) in enumerate((*insights.TENURE_BANDS, *insights.SIZE_BANDS))
    }
    return [
        SegmentGroup(
            key,
            name,
            sorted((s for s in found if s.dimension == key), key=lambda s: order.get(s.name, 0)),
        )
        for key, name in DIMENSION_NAMES.items()
    ]


def matrix(moves: list[insights.PlanMove]) -> Matrix:
    plans = sorted({m.from_plan for m in moves} | {m.to_plan for m in moves})
    cells = {(m.from_plan, m.to_plan): m for m in moves}
    return Matrix(plans, [(row, [cells.get((row, col)) for col in plans]) for row in plans])
