"""Revenue down to the customer: who made a month's movement, one day's movements, one
customer's MRR over time and their payments.

The engine's figures are sums over customers (`engine.Block`): the same code run on one
customer's service periods gives that customer's share. So a drill-down recomputes only the
customers whose MRR changes in the month (a change happens only where a period starts or
ends), and its lines add up to the table's cell exactly, by construction, not by rounding.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from fractions import Fraction

import numpy as np

from founderops.reports.revenue import Snapshot, Who, who
from founderops.revenue import known, rounding
from founderops.revenue.book import NEVER, PAID, day_date
from founderops.revenue.engine import (
    MOVEMENTS,
    Block,
    Calendar,
    Spans,
    customer_block,
    invoice_spans,
)
from founderops.revenue.models import (
    BillingCustomer,
    Charge,
    Dunning,
    DunningStep,
    Invoice,
    Refund,
)

KINDS = (*MOVEMENTS, "fx")


@dataclass(frozen=True)
class InvoiceRef:
    stripe_id: str
    number: str


@dataclass(frozen=True)
class Line:
    """One customer's part of a month's movement."""

    who: Who
    before: Fraction
    after: Fraction
    amount: Fraction
    invoices: tuple[InvoiceRef, ...]
    # Whole cents as shown, the lines sharing the movement's shown total (`shown_lines`),
    # and MRR before and after as shown beside it (before + part = after where it can).
    shown: int | None = None
    shown_before: int | None = None
    shown_after: int | None = None


# --- one month's movement, customer by customer ----------------------------------------------


def month_index(snap: Snapshot, month: date) -> int | None:
    months = [m.month for m in snap.result.months]
    return months.index(month) if month in months else None


def movement_lines(snap: Snapshot, month: int, kind: str) -> list[Line]:
    """Each customer's share of `kind` (a movement, or "fx") in month number `month`,
    largest first."""
    result = snap.result
    spans = invoice_spans(result.book, result.settings, result.rates, None)
    first, last = _days_of(result.calendar, month)
    lines = []
    for customer in _changing(spans, result.calendar, first, last):
        amount = _share(_customer_block(snap, spans, customer), kind, month)
        if amount:
            lines.append(_line(snap, customer, month, amount, first, last))
    return sorted(lines, key=lambda line: (-abs(line.amount), line.who.name))


def shown_lines(lines: list[Line], total: int, kind: str) -> list[Line]:
    """The lines of movement `kind` with their shown cents: `total` (the movement as the table
    shows it) shared so that the shown lines add up to it, and each line's before and after
    shown so that before + part = after wherever the part is the customer's whole change in
    the month (`rounding.movement_rows` says how)."""
    sign = -1 if kind in rounding.LOSSES else 1
    exact = [rounding.Exact(line.before, line.amount, line.after, sign) for line in lines]
    rows = rounding.movement_rows(exact, total) if lines else []
    return [
        replace(line, shown=row.part, shown_before=row.before, shown_after=row.after)
        for line, row in zip(lines, rows, strict=True)
    ]


def _days_of(calendar: Calendar, month: int) -> tuple[int, int]:
    """First and last day number of month number `month` inside the calendar."""
    inside = np.flatnonzero(calendar.month_of_day == month)
    return calendar.first + int(inside[0]), calendar.first + int(inside[-1])


def _changing(spans: Spans, calendar: Calendar, first: int, last: int) -> list[int]:
    """Customers with a period starting (clipped to the range) or ending in [first, last]."""
    start = np.maximum(spans.start, calendar.first)
    ends = (spans.end >= first) & (spans.end <= last) & (spans.end > start)
    starts = (start >= first) & (start <= last) & (spans.end > start)
    return sorted({int(c) for c in spans.customer[starts | ends]})


def _customer_block(snap: Snapshot, spans: Spans, customer: int) -> Block:
    mine = spans.customer == customer
    own = Spans(*(getattr(spans, name)[mine] for name in Spans.__dataclass_fields__))
    foreign = np.asarray(snap.result.book.customer_currency != 0, dtype=np.bool_)
    members = np.array([customer], dtype=np.int64)
    return customer_block(own, members, snap.result.calendar, foreign)


def _share(block: Block, kind: str, month: int) -> Fraction:
    if kind == "fx":
        return Fraction(int(block.fx[month]))
    return Fraction(int(block.moves[MOVEMENTS.index(kind), month]))


def _line(
    snap: Snapshot, customer: int, month: int, units: Fraction, first: int, last: int
) -> Line:
    history = snap.result.month_end(customer)
    return Line(
        who(snap, snap.result.customers[customer]),
        history[month - 1] if month else Fraction(0),
        history[month],
        snap.result.cents(int(units)),
        _invoices(snap, customer, first, last),
    )


def _invoices(snap: Snapshot, customer: int, first: int, last: int) -> tuple[InvoiceRef, ...]:
    """The customer's invoices whose service starts or stops in the month: the cause."""
    book = snap.result.book
    invoices = book.invoices
    ends = np.where(
        invoices.status != PAID, np.minimum(invoices.end, invoices.voided), invoices.end
    )
    mine = invoices.customer == customer
    touching = mine & (
        ((invoices.start >= first) & (invoices.start <= last))
        | ((ends >= first) & (ends <= last + 1) & (ends != NEVER))
    )
    ids = book.invoice_ids or []
    stripe_ids = list(dict.fromkeys(ids[row].split("/")[0] for row in np.flatnonzero(touching)))
    numbers = dict(
        Invoice.objects.filter(livemode=snap.livemode, stripe_id__in=stripe_ids).values_list(
            "stripe_id", "number"
        )
    )
    return tuple(InvoiceRef(sid, numbers.get(sid) or sid) for sid in stripe_ids)


# --- one day ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    day: date
    mrr: Fraction
    moves: dict[str, Fraction]
    counts: dict[str, int]
    fx: Fraction


def last_day(snap: Snapshot) -> Day:
    """The movements of the snapshot's last day alone, and MRR at its close.

    The engine sorts changes into the buckets of its calendar; a calendar of two buckets,
    everything before the day and the day itself, gives that day's movements with the same
    classification (a comeback is a reactivation, not new, because the history is there)."""
    result = snap.result
    calendar, bucket = result.calendar, 0
    day = calendar.last_day
    if calendar.days > 1:
        buckets = np.zeros(calendar.days, dtype=np.int64)
        buckets[-1] = bucket = 1
        calendar = Calendar(
            calendar.first, calendar.days, (calendar.months[0], day_date(day)), buckets
        )
    spans = invoice_spans(result.book, result.settings, result.rates, None)
    foreign = np.asarray(result.book.customer_currency != 0, dtype=np.bool_)
    members = np.arange(len(result.customers), dtype=np.int64)
    block = customer_block(spans, members, calendar, foreign)
    return Day(
        day_date(day),
        result.cents(int(block.month_end[:, bucket].sum())),
        {k: result.cents(int(block.moves[i, bucket])) for i, k in enumerate(MOVEMENTS)},
        {k: int(block.counts[i, bucket]) for i, k in enumerate(MOVEMENTS)},
        result.cents(int(block.fx[bucket])),
    )


# --- one customer -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerRevenue:
    months: list[date]
    # Month-end MRR (the last month: at the close of the snapshot's day), all their accounts.
    mrr: list[Fraction]

    @property
    def now(self) -> Fraction:
        return self.mrr[-1] if self.mrr else Fraction(0)

    @property
    def ever_paid(self) -> bool:
        return any(value > 0 for value in self.mrr)


def keys_of(customer_id: int, livemode: bool) -> list[str]:
    rows = BillingCustomer.objects.filter(livemode=livemode, customer_id=customer_id)
    return list(rows.values_list("stripe_id", flat=True))


def customer_revenue(snap: Snapshot, keys: list[str]) -> CustomerRevenue:
    total = [Fraction(0)] * len(snap.result.months)
    for key in keys:
        index = snap.index.get(key)
        if index is not None:
            total = [a + b for a, b in zip(total, snap.result.month_end(index), strict=True)]
    return CustomerRevenue([m.month for m in snap.result.months], total)


# --- payments -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Payment:
    at: datetime
    kind: str  # paid, failed, refund
    amount: int
    currency: str
    invoice: str
    detail: str = ""


def payments(customer_id: int, livemode: bool, limit: int) -> list[Payment]:
    """A customer's charges (paid or failed) and refunds, newest first, at most `limit`.
    The charge a dunning retry made is left out: the retry's moment shows it (`dunning`)."""
    retried = [c.charge for c in retry_charges(customer_id, livemode).values()]
    charges = (
        Charge.objects.filter(livemode=livemode, customer__customer_id=customer_id)
        .exclude(status="pending")
        .exclude(pk__in=retried)
        .order_by("-created", "-id")
        .values_list(
            "created", "status", "amount", "currency", "invoice__number", "failure_message"
        )
    )[:limit]
    refunds = (
        Refund.objects.filter(livemode=livemode, charge__customer__customer_id=customer_id)
        .order_by("-created", "-id")
        .values_list("created", "status", "amount", "currency", "charge__invoice__number", "reason")
    )[:limit]
    found = [
        Payment(
            at, "paid" if status == "succeeded" else "failed", amount, currency, number or "", why
        )
        for at, status, amount, currency, number, why in charges
        if at is not None
    ]
    found += [
        Payment(at, "refund", amount, currency, number or "", (reason or status).replace("_", " "))
        for at, status, amount, currency, number, reason in refunds
        if at is not None
    ]
    return sorted(found, key=lambda p: p.at, reverse=True)[:limit]


# --- dunning -------------------------------------------------------------------------------------

STEP_NAMES: dict[str, str] = {
    DunningStep.Kind.EMAIL: "Payment reminder",
    DunningStep.Kind.RETRY: "Payment retry",
}
STEP_STATES: dict[str, str] = {
    DunningStep.State.DONE: "done",
    DunningStep.State.FAILED: "failed",
    DunningStep.State.SKIPPED: "skipped",
}
DECLINED = "declined: "
# Stripe dates the charge a retry made when it tried: seconds from the step in production. The
# window also takes a charge stored from a replayed history whose attempts Stripe dated apart
# from the step (the demo's, an hour later): one attempt to collect, shown once.
RETRY_CHARGE_WINDOW = timedelta(hours=2)


@dataclass(frozen=True)
class DunningMoment:
    """A moment of a customer's dunning: its start (saying what was planned), a step done,
    failed or skipped (with what came of it, and for a retry the amount of its charge), its
    end."""

    at: datetime
    title: str
    detail: str
    invoice: str
    amount: int | None = None
    currency: str = ""


@dataclass(frozen=True)
class RetryCharge:
    charge: int
    amount: int
    currency: str
    message: str


@dataclass(frozen=True)
class Running:
    """A dunning still running, and its next step."""

    invoice: str
    started_at: datetime
    step: str
    due_at: datetime


def dunning(customer_id: int, livemode: bool, limit: int) -> list[DunningMoment]:
    """The customer's dunning sequences and the steps behind them, newest first."""
    runs = (
        Dunning.objects.filter(
            invoice__livemode=livemode, invoice__customer__customer_id=customer_id
        )
        .select_related("invoice")
        .prefetch_related("steps")
        .order_by("-started_at", "-id")[:limit]
    )
    charged = retry_charges(customer_id, livemode)
    # Reversed first: a start and its day-0 step share a moment, and so do an end and the
    # steps it skipped; newest first, what happened later goes above (the sort is stable).
    found = [moment for run in runs for moment in reversed(_moments(run, charged))]
    return sorted(found, key=lambda m: m.at, reverse=True)[:limit]


def running(customer_id: int, livemode: bool) -> list[Running]:
    """The customer's dunning sequences still running, each with its next step: what is
    planned now, which the timeline's past moments do not say."""
    runs = (
        Dunning.objects.filter(
            invoice__livemode=livemode,
            invoice__customer__customer_id=customer_id,
            state=Dunning.State.ACTIVE,
        )
        .select_related("invoice")
        .prefetch_related("steps")
        .order_by("-started_at", "-id")
    )
    found = []
    for run in runs:
        waiting = [s for s in _in_order(run) if s.state == DunningStep.State.PENDING]
        if waiting:
            invoice = run.invoice.number or run.invoice.stripe_id
            step = STEP_NAMES[waiting[0].kind].lower()
            found.append(Running(invoice, run.started_at, step, waiting[0].due_at))
    return found


def retry_charges(customer_id: int, livemode: bool) -> dict[int, RetryCharge]:
    """The charge each payment retry made, by the step's id: on the retry's invoice, the
    failed charge nearest a declined retry (the paid one nearest a retry that paid) within
    RETRY_CHARGE_WINDOW. A charge is one retry's at most."""
    retries = list(
        DunningStep.objects.filter(
            dunning__invoice__livemode=livemode,
            dunning__invoice__customer__customer_id=customer_id,
            kind=DunningStep.Kind.RETRY,
            state=DunningStep.State.DONE,
            done_at__isnull=False,
        )
        .order_by("done_at", "id")
        .values_list("pk", "done_at", "outcome", "dunning__invoice_id")
    )
    if not retries:
        return {}
    charges = list(
        Charge.objects.filter(
            livemode=livemode,
            invoice_id__in={invoice for *_, invoice in retries},
            status__in=("failed", "succeeded"),
            created__isnull=False,
        ).values_list("pk", "created", "status", "amount", "currency", "failure_message", "invoice")
    )
    taken: set[int] = set()
    found = {}
    for step, at, outcome, invoice in retries:
        status = _charge_status(outcome)
        near = [
            (abs(created - at), pk, amount, currency, message)
            for pk, created, state, amount, currency, message, on in charges
            if (on, state) == (invoice, status)
            and pk not in taken
            and created is not None
            and at is not None
            and abs(created - at) <= RETRY_CHARGE_WINDOW
        ]
        if near:
            _, pk, amount, currency, message = min(near)
            taken.add(pk)
            found[step] = RetryCharge(pk, amount, currency, message or "")
    return found


def _charge_status(outcome: str) -> str:
    """The status of the charge a retry with this outcome made ("" when none is known)."""
    if outcome.startswith(DECLINED):
        return "failed"
    return "succeeded" if outcome == "paid" else ""


def _in_order(run: Dunning) -> list[DunningStep]:
    return sorted(run.steps.all(), key=lambda s: (s.due_at, s.kind != DunningStep.Kind.RETRY))


def _moments(run: Dunning, charged: dict[int, RetryCharge]) -> list[DunningMoment]:
    invoice = run.invoice.number or run.invoice.stripe_id
    steps = _in_order(run)
    out = [DunningMoment(run.started_at, "Dunning started", _plan(steps), invoice)]
    out += [
        _step_moment(s, invoice, charged.get(s.pk))
        for s in steps
        if s.done_at is not None and s.state in STEP_STATES
    ]
    if run.ended_at is not None:
        title = f"Dunning ended: {run.get_state_display().lower()}"
        out.append(DunningMoment(run.ended_at, title, run.end_reason, invoice))
    return out


def _step_moment(step: DunningStep, invoice: str, charge: RetryCharge | None) -> DunningMoment:
    assert step.done_at is not None
    title, detail = f"{STEP_NAMES[step.kind]} {STEP_STATES[step.state]}", step.outcome
    if step.kind == DunningStep.Kind.RETRY and step.state == DunningStep.State.DONE:
        if step.outcome.startswith(DECLINED):
            title, detail = "Payment retry declined", step.outcome.removeprefix(DECLINED)
        elif step.outcome == "paid":
            title, detail = "Payment retry paid", ""
    if charge is None:
        return DunningMoment(step.done_at, title, detail, invoice)
    return DunningMoment(
        step.done_at, title, detail or charge.message, invoice, charge.amount, charge.currency
    )


PLANNED = (
    (DunningStep.Kind.EMAIL, "reminder", "reminders"),
    (DunningStep.Kind.RETRY, "payment retry", "payment retries"),
)


def _plan(steps: list[DunningStep]) -> str:
    """What the sequence planned when it started: "planned: 4 reminders (days 0, 3, 7 and
    14) and 3 payment retries (days 3, 7 and 14)", days counted from the failure."""
    parts = []
    for kind, one, many in PLANNED:
        days = sorted(s.day for s in steps if s.kind == kind)
        if days:
            parts.append(f"{len(days)} {one if len(days) == 1 else many} ({_days(days)})")
    return "planned: " + " and ".join(parts) if parts else ""


def _days(days: list[int]) -> str:
    if len(days) == 1:
        return f"day {days[0]}"
    return f"days {', '.join(str(d) for d in days[:-1])} and {days[-1]}"


def failed_between(livemode: bool, start: datetime, end: datetime) -> list[Payment]:
    rows = (
        Charge.objects.filter(
            livemode=livemode, status="failed", created__gte=start, created__lt=end
        )
        .order_by("created", "id")
        .values_list("created", "amount", "currency", "invoice__number", "customer__stripe_id")
    )
    return [
        Payment(at, "failed", amount, currency, number or "", key or "")
        for at, amount, currency, number, key in rows
        if at is not None
    ]


def unpaid_after_failure(
    livemode: bool, known_at: datetime | None = None
) -> list[tuple[str, str, int, str]]:
    """Open invoices with a failed payment: (customer key, number, amount due, currency);
    with `known_at`, those open then after a payment that failed before then."""
    if known_at is None:
        rows = Invoice.objects.filter(livemode=livemode, status="open", charges__status="failed")
        found = rows.distinct().order_by("created", "id").values_list(*_UNPAID_FIELDS)
        return [(key or "", number or sid, due, cur) for key, number, sid, due, cur in found]
    failed = Charge.objects.filter(livemode=livemode, status="failed", created__lt=known_at)
    rows = Invoice.objects.filter(
        livemode=livemode, pk__in=failed.values("invoice"), status__in=_UNPAID_STATUSES
    ).exclude(created__gte=known_at)
    out = []
    for invoice in rows.order_by("created", "id").select_related("customer"):
        if known.invoice_status(_times(invoice), known_at) == "open":
            # Paid or voided since: none of it was paid then (partial payments are not timed).
            due = invoice.amount_remaining if invoice.status == "open" else invoice.amount_due
            key = invoice.customer.stripe_id if invoice.customer else ""
            out.append((key, invoice.number or invoice.stripe_id, due, invoice.currency))
    return out


# Invoices that may have been open at an earlier moment.
_UNPAID_STATUSES = ("open", "paid", "void", "uncollectible")
_UNPAID_FIELDS = ("customer__stripe_id", "number", "stripe_id", "amount_remaining", "currency")


def _times(invoice: Invoice) -> known.InvoiceTimes:
    return known.InvoiceTimes(
        invoice.status,
        invoice.created,
        invoice.finalized_at,
        invoice.paid_at,
        invoice.voided_at,
        invoice.marked_uncollectible_at,
    )
