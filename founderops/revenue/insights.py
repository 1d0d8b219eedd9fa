"""Revenue insights over plain typed data: segments, plan moves, discount dependence, alerts.

The pages and the morning briefing call these with lists of dataclasses; `*_from_ledger`
build those lists from the billing records (and the engine's month-end MRR per customer, passed
in as a plain mapping so this module does not depend on how the engine stores it).

Money is in integer minor units (cents) of the reporting currency throughout.
"""

from __future__ import annotations

import itertools
import math
import statistics
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Literal

from founderops.revenue.billing import Invoice, Ledger, months_in
from founderops.revenue.churn_risk import ChurnFeatures, ChurnInputError, Interval, Labelled

# --- Segmentation ------------------------------------------------------------------------

# Bands a founder reads at a glance; size in dollars of MRR a month.
TENURE_BANDS = ((0, "0-2 months"), (3, "3-11 months"), (12, "12-23 months"), (24, "24+ months"))
SIZE_BANDS = ((0, "< $50"), (5_000, "$50-199"), (20_000, "$200-999"), (100_000, "$1,000+"))


Dimension = Literal["plan", "tenure", "size"]


@dataclass(frozen=True)
class CustomerPeriod:
    """One customer over one period (a month, a quarter): what segmentation needs."""

    customer: str
    plan: str
    tenure_months: int  # months paid by the start of the period (the first counts as 1)
    mrr_start: int
    mrr_end: int
    discount_start: int = 0  # monthly discount at the start (cents off the list price)

    @property
    def churned(self) -> bool:
        return self.mrr_start > 0 and self.mrr_end == 0


@dataclass(frozen=True)
class Segment:
    dimension: Dimension
    name: str
    customers: int  # paying at the start of the period
    mrr_start: int
    mrr_end: int  # of those same customers (new customers are not in a segment's churn)
    churned: int
    churned_mrr: int

    @property
    def churn_rate(self) -> float:
        return self.churned / self.customers if self.customers else 0.0

    @property
    def revenue_churn_rate(self) -> float:
        return self.churned_mrr / self.mrr_start if self.mrr_start else 0.0


def band(value: int, bands: Sequence[tuple[int, str]]) -> str:
    return [name for floor, name in bands if value >= floor][-1]


_DIMENSIONS: dict[Dimension, Callable[[CustomerPeriod], str]] = {
    "plan": lambda p: p.plan,
    "tenure": lambda p: band(p.tenure_months, TENURE_BANDS),
    "size": lambda p: band(p.mrr_start, SIZE_BANDS),
}


def segments(periods: Iterable[CustomerPeriod]) -> list[Segment]:
    """MRR and churn by plan, tenure band and size band, over customers paying at the start."""
    paying = [p for p in periods if p.mrr_start > 0]
    out = []
    for dimension, key in _DIMENSIONS.items():
        groups: dict[str, list[CustomerPeriod]] = defaultdict(list)
        for period in paying:
            groups[key(period)].append(period)
        out += [_segment(dimension, name, members) for name, members in sorted(groups.items())]
    return out


def _segment(dimension: Dimension, name: str, members: list[CustomerPeriod]) -> Segment:
    churned = [p for p in members if p.churned]
    return Segment(
        dimension,
        name,
        len(members),
        sum(p.mrr_start for p in members),
        sum(p.mrr_end for p in members),
        len(churned),
        sum(p.mrr_start for p in churned),
    )


# --- Pricing: plan moves and discount dependence -----------------------------------------


@dataclass(frozen=True)
class PlanChange:
    customer: str
    day: date
    from_plan: str
    to_plan: str
    mrr_before: int
    mrr_after: int


@dataclass(frozen=True)
class PlanMove:
    from_plan: str
    to_plan: str
    customers: int
    changes: int
    mrr_change: int  # net, after minus before, summed


def plan_moves(changes: Iterable[PlanChange]) -> list[PlanMove]:
    """The from/to matrix as rows, biggest MRR effect first."""
    cells: dict[tuple[str, str], list[PlanChange]] = defaultdict(list)
    for change in changes:
        if change.from_plan != change.to_plan:
            cells[(change.from_plan, change.to_plan)].append(change)
    rows = [
        PlanMove(
            source,
            target,
            len({c.customer for c in cell}),
            len(cell),
            sum(c.mrr_after - c.mrr_before for c in cell),
        )
        for (source, target), cell in cells.items()
    ]
    return sorted(rows, key=lambda r: (-abs(r.mrr_change), r.from_plan, r.to_plan))


@dataclass(frozen=True)
class DiscountDependence:
    mrr: int
    discounted_customers_mrr: int  # MRR of customers paying less than list price
    discount: int  # monthly cents given away
    discounted_churn_rate: float | None  # None when no customer is in that group
    full_price_churn_rate: float | None

    @property
    def discounted_mrr_share(self) -> float:
        return self.discounted_customers_mrr / self.mrr if self.mrr else 0.0

    @property
    def discount_share_of_list(self) -> float:
        """What share of list-price MRR is given away."""
        listed = self.mrr + self.discount
        return self.discount / listed if listed else 0.0


def discount_dependence(periods: Iterable[CustomerPeriod]) -> DiscountDependence:
    paying = [p for p in periods if p.mrr_start > 0]
    discounted = [p for p in paying if p.discount_start > 0]
    full = [p for p in paying if p.discount_start <= 0]
    return DiscountDependence(
        sum(p.mrr_start for p in paying),
        sum(p.mrr_start for p in discounted),
        sum(p.discount_start for p in discounted),
        _churn_rate(discounted),
        _churn_rate(full),
    )


def _churn_rate(periods: list[CustomerPeriod]) -> float | None:
    return sum(p.churned for p in periods) / len(periods) if periods else None


# --- Anomaly alerts over daily series ----------------------------------------------------


@dataclass(frozen=True)
class AlertRule:
    """How one daily series is watched.

    `window_days` values are summed into one figure (7 for new MRR: most small businesses have
    days with no new customer at all, so a day alone says nothing; a week does, and it also
    absorbs the weekday rhythm). That figure is compared with the previous `baseline_windows`
    non-overlapping windows: their median, and their spread as 1.4826 x MAD (the robust
    standard deviation, unmoved by the one bad week it is meant to catch). No alert until
    `min_windows` windows of history exist, so a new installation stays quiet. Counts also get
    a Poisson floor on the spread (sqrt of the median): a median of 0 failed payments with a
    MAD of 0 must not turn one failed payment into an alert, which `min_value` also guards.
    """

    metric: str
    direction: Literal["drop", "spike"]
    window_days: int = 1
    baseline_windows: int = 28
    min_windows: int = 14
    threshold: float = 3.5
    # A spike must also be at least this big, and a drop must fall below this share of usual.
    min_value: float = 3.0
    max_share: float = 0.5
    counts: bool = True


NEW_MRR_DROP = AlertRule(
    "new_mrr", "drop", window_days=7, baseline_windows=8, min_windows=4, counts=False
)
FAILED_PAYMENTS_SPIKE = AlertRule("failed_payments", "spike")
REFUNDS_SPIKE = AlertRule("refunds", "spike")


@dataclass(frozen=True)
class Alert:
    metric: str
    direction: Literal["drop", "spike"]
    day: date  # the last day of the window
    value: float
    usual: float  # the baseline median
    score: float  # robust z: (value - usual) / spread


def alerts(series: Mapping[date, float], rule: AlertRule, until: date | None = None) -> list[Alert]:
    """Every alert the rule raises on the series, one per day (missing days count as 0)."""
    if not series:
        return []
    first, last = min(series), until or max(series)
    values = [series.get(first + timedelta(days=i), 0.0) for i in range((last - first).days + 1)]
    out = []
    for end in range(len(values)):
        alert = _check_day(values, end, rule)
        if alert is not None:
            out.append(_as_alert(alert, first + timedelta(days=end), rule))
    return out


def alert_on(series: Mapping[date, float], rule: AlertRule, day: date) -> Alert | None:
    """The alert for `day` alone (the morning briefing asks about yesterday)."""
    found = [alert for alert in alerts(series, rule, until=day) if alert.day == day]
    return found[0] if found else None


def _check_day(
    values: Sequence[float], end: int, rule: AlertRule
) -> tuple[float, float, float] | None:
    window = rule.window_days
    history = [
        sum(values[start : start + window])
        for start in range(end + 1 - 2 * window, -1, -window)[: rule.baseline_windows]
    ]
    if len(history) < rule.min_windows:
        return None
    value = sum(values[end + 1 - window : end + 1])
    usual = statistics.median(history)
    spread = 1.4826 * statistics.median(abs(h - usual) for h in history)
    if rule.counts:
        spread = max(spread, math.sqrt(max(usual, 1.0)))
    score = (value - usual) / spread if spread else _infinite(value - usual)
    return (value, usual, score) if _fires(rule, value, usual, score) else None


def _infinite(difference: float) -> float:
    return math.copysign(math.inf, difference) if difference else 0.0


def _fires(rule: AlertRule, value: float, usual: float, score: float) -> bool:
    if rule.direction == "spike":
        return score >= rule.threshold and value >= rule.min_value
    return usual > 0 and score <= -rule.threshold and value <= rule.max_share * usual


def _as_alert(found: tuple[float, float, float], day: date, rule: AlertRule) -> Alert:
    value, usual, score = found
    return Alert(rule.metric, rule.direction, day, value, usual, round(score, 2))


def describe(alert: Alert) -> str:
    """The alert in a sentence for the briefing."""
    money = alert.metric.endswith("mrr")
    what = alert.metric.replace("_", " ")
    if alert.metric == "new_mrr":
        what = "new MRR"
    return (
        f"{what[0].upper()}{what[1:]} {'fell' if alert.direction == 'drop' else 'jumped'} to "
        f"{_shown(alert.value, money)} (usually {_shown(alert.usual, money)}) "
        f"as of {alert.day:%Y-%m-%d}"
    )


def _shown(value: float, money: bool) -> str:
    return f"${value / 100:,.0f}" if money else f"{value:g}"


# --- Adapters from the billing records -------------------------------------------------------


def _line_mrr(invoice: Invoice) -> tuple[int, int]:
    """(net MRR, monthly discount) of an invoice, trial lines excluded, whole cents."""
    net = sum(line.net / months_in(line.interval) for line in invoice.lines if not line.trial)
    off = sum(line.discount / months_in(line.interval) for line in invoice.lines if not line.trial)
    return round(net), round(off)


def commitment(months: Fraction | int) -> Interval:
    """The churn model's plan interval for a billing interval of `months` months: a year or
    longer is "year", three months or longer "quarter", anything shorter (weeks, days) "month"."""
    if months >= 12:
        return "year"
    return "quarter" if months >= 3 else "month"


def _plan(invoice: Invoice) -> str:
    return "+".join(sorted({line.plan for line in invoice.lines})) or "none"


def plan_changes_from_ledger(ledger: Ledger) -> list[PlanChange]:
    """A change wherever a subscription's next paid invoice bills other plans than the last."""
    by_subscription: dict[str, list[Invoice]] = defaultdict(list)
    for invoice in ledger.invoices:
        if invoice.status != "void" and invoice.lines:
            by_subscription[invoice.subscription].append(invoice)
    out = []
    for invoices in by_subscription.values():
        invoices.sort(key=lambda i: i.period_start)
        for before, after in itertools.pairwise(invoices):
            if _plan(before) != _plan(after):
                out.append(_change(before, after))
    return out


def _change(before: Invoice, after: Invoice) -> PlanChange:
    return PlanChange(
        after.customer,
        after.period_start.date(),
        _plan(before),
        _plan(after),
        _line_mrr(before)[0],
        _line_mrr(after)[0],
    )


def periods_from_ledger(
    ledger: Ledger,
    months: Sequence[date],
    month_end: Mapping[str, Sequence[Fraction | int]],
    start: int,
    end: int,
) -> list[CustomerPeriod]:
    """Each customer from the end of month `start` to the end of month `end` (indexes into
    `months`, the engine's), with the plan and discount of their invoice in effect then."""
    invoices: dict[str, list[Invoice]] = defaultdict(list)
    for invoice in ledger.invoices:
        if invoice.status != "void":
            invoices[invoice.customer].append(invoice)
    return [
        _period(customer, months, mrr, invoices[customer], start, end)
        for customer, mrr in month_end.items()
        if mrr[start] > 0 or mrr[end] > 0
    ]


def _period(
    customer: str,
    months: Sequence[date],
    mrr: Sequence[Fraction | int],
    invoices: list[Invoice],
    start: int,
    end: int,
) -> CustomerPeriod:
    first_paid = next((i for i, value in enumerate(mrr) if value > 0), start)
    boundary = _month_after(months[start])
    current = [i for i in invoices if i.period_start.date() < boundary]
    latest = max(current or invoices, key=lambda i: i.period_start, default=None)
    discount = _line_mrr(latest)[1] if latest is not None and mrr[start] > 0 else 0
    return CustomerPeriod(
        customer,
        _plan(latest) if latest is not None else "none",
        max(start - first_paid + 1, 0),
        round(mrr[start]),
        round(mrr[end]),
        discount,
    )


def _month_after(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def daily_series_from_ledger(ledger: Ledger) -> dict[str, dict[date, float]]:
    """Failed payments and refunds per day (counts), and new MRR per day: the first paid
    invoice of each customer's first subscription, on the day its service starts."""
    failed: dict[date, float] = defaultdict(float)
    refunds: dict[date, float] = defaultdict(float)
    for payment in ledger.failed_payments:
        failed[payment.created_at.date()] += 1
    for refund in ledger.refunds:
        refunds[refund.created_at.date()] += 1
    series = {"failed_payments": failed, "refunds": refunds, "new_mrr": _new_mrr(ledger)}
    # History starts with the records, not with the first event: weeks without a refund are
    # the baseline a first burst of refunds stands out against.
    for values in series.values():
        values.setdefault(ledger.first_month, 0.0)
    return series


def _new_mrr(ledger: Ledger) -> dict[date, float]:
    first: dict[str, Invoice] = {}
    for invoice in sorted(ledger.invoices, key=lambda i: i.period_start):
        if invoice.status == "paid" and _line_mrr(invoice)[0] > 0:
            first.setdefault(invoice.customer, invoice)
    out: dict[date, float] = defaultdict(float)
    for invoice in first.values():
        out[invoice.period_start.date()] += _line_mrr(invoice)[0]
    return out


# --- Churn-risk features from the billing records ----------------------------------------------

# Snapshots are taken this many months apart and labelled by what happened in the next as many,
# so windows never overlap and one cancellation is one churned example, not three.
RISK_WINDOW_MONTHS = 3


RISK_WINDOW = timedelta(days=90)
EVER = (datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))


@dataclass(frozen=True)
class Tickets:
    total: int = 0
    negative: int = 0


@dataclass(frozen=True)
class TicketSeen:
    """One support ticket as the risk features see it: whose, when, and whether unhappy."""

    customer: str
    created_at: datetime
    negative: bool = False


@dataclass(frozen=True)
class TicketLog:
    """Every customer's ticket arrival times, sorted, so the features of each snapshot (the
    current one and every past one the model learns from) count the tickets of the 90 days
    before *that* snapshot's date, and never a later one."""

    times: Mapping[str, Sequence[datetime]] = field(default_factory=dict)
    negative: Mapping[str, Sequence[datetime]] = field(default_factory=dict)

    @classmethod
    def of(cls, tickets: Iterable[TicketSeen]) -> TicketLog:
        """Raises ChurnInputError on a naive time (the windows are UTC days)."""
        times: dict[str, list[datetime]] = defaultdict(list)
        negative: dict[str, list[datetime]] = defaultdict(list)
        for ticket in tickets:
            if ticket.created_at.utcoffset() is None:
                raise ChurnInputError(
                    f"a ticket of {ticket.customer} at {ticket.created_at} has no time zone"
                )
            times[ticket.customer].append(ticket.created_at)
            if ticket.negative:
                negative[ticket.customer].append(ticket.created_at)
        return cls(
            {key: sorted(value) for key, value in times.items()},
            {key: sorted(value) for key, value in negative.items()},
        )

    def between(self, customer: str, since: datetime, until: datetime) -> Tickets:
        """The customer's tickets with since <= created_at < until."""
        return Tickets(
            _count(self.times.get(customer, ()), since, until),
            _count(self.negative.get(customer, ()), since, until),
        )


def _count(times: Sequence[datetime], since: datetime, until: datetime) -> int:
    return max(0, bisect_left(times, until) - bisect_left(times, since))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def churn_features_from_ledger(
    ledger: Ledger,
    month_end: Mapping[str, Sequence[Fraction | int]],
    at: int,
    tickets: TicketLog | None = None,
    months: Sequence[date] = (),
    through: date | None = None,
) -> dict[str, ChurnFeatures]:
    """Features of every customer paying at the end of month index `at`, their 90-day
    windows ending with that month, or with the day `through` when it comes first (the
    current snapshot: a month to date). Tickets come from the support domain through the
    caller (revenue does not import support)."""
    by_customer = _invoices_by_customer(ledger)
    failed, refunded = _dated_trouble(ledger)
    until = _month_after(months[at]) if months else None
    if through is not None:
        until = min(until or date.max, through + timedelta(days=1))
    log = tickets or TicketLog()
    return {
        customer: _features(
            mrr,
            at,
            by_customer[customer],
            failed[customer],
            refunded[customer],
            until,
            _tickets(log, customer, until),
        )
        for customer, mrr in month_end.items()
        if mrr[at] > 0
    }


def _tickets(log: TicketLog, customer: str, until: date | None) -> Tickets:
    if until is None:  # no calendar: every ticket counts, like every failed payment
        return log.between(customer, *EVER)
    end = _midnight(until)
    return log.between(customer, end - RISK_WINDOW, end)


def _invoices_by_customer(ledger: Ledger) -> dict[str, list[Invoice]]:
    out: dict[str, list[Invoice]] = defaultdict(list)
    for invoice in sorted(ledger.invoices, key=lambda i: i.period_start):
        if invoice.status != "void" and any(not line.trial for line in invoice.lines):
            out[invoice.customer].append(invoice)
    return out


def _dated_trouble(ledger: Ledger) -> tuple[dict[str, list[date]], dict[str, list[date]]]:
    owner = {invoice.id: invoice.customer for invoice in ledger.invoices}
    failed: dict[str, list[date]] = defaultdict(list)
    refunded: dict[str, list[date]] = defaultdict(list)
    for payment in ledger.failed_payments:
        failed[owner.get(payment.invoice, "")].append(payment.created_at.date())
    for refund in ledger.refunds:
        refunded[owner.get(refund.invoice, "")].append(refund.created_at.date())
    return failed, refunded


def _features(
    mrr: Sequence[Fraction | int],
    at: int,
    invoices: list[Invoice],
    failed: list[date],
    refunded: list[date],
    until: date | None,
    tickets: Tickets,
) -> ChurnFeatures:
    current = [i for i in invoices if until is None or i.period_start.date() < until]
    latest = current[-1] if current else invoices[-1]
    net, off = _line_mrr(latest)
    lines = [line for line in latest.lines if not line.trial]
    since = until - RISK_WINDOW if until else date.min
    first_paid = next(i for i, value in enumerate(mrr) if value > 0)
    return ChurnFeatures(
        tenure_months=at - first_paid + 1,
        interval=commitment(max((months_in(line.interval) for line in lines), default=1)),
        mrr=round(mrr[at]),
        mrr_change_90d=round(mrr[at] - mrr[max(at - RISK_WINDOW_MONTHS, first_paid)]),
        discount_share=off / (net + off) if net + off > 0 else 0.0,
        failed_payments_90d=sum(since <= d < (until or date.max) for d in failed),
        refunds_90d=sum(since <= d < (until or date.max) for d in refunded),
        support_tickets_90d=tickets.total,
        negative_tickets_90d=tickets.negative,
    )


def labelled_history(
    ledger: Ledger,
    months: Sequence[date],
    month_end: Mapping[str, Sequence[Fraction | int]],
    tickets: TicketLog | None = None,
) -> list[Labelled]:
    """Past snapshots every RISK_WINDOW_MONTHS months, each customer paying then labelled by
    whether their MRR was zero RISK_WINDOW_MONTHS later: the founder's own training data.
    `tickets` are counted as of each snapshot, as the current score counts them."""
    out = []
    last = len(months) - 1
    for at in range(last - RISK_WINDOW_MONTHS, -1, -RISK_WINDOW_MONTHS):
        features = churn_features_from_ledger(ledger, month_end, at, tickets, months)
        for customer, row in features.items():
            out.append(Labelled(row, month_end[customer][at + RISK_WINDOW_MONTHS] == 0))
    return out
