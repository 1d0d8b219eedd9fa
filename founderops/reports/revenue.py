"""Revenue for the cockpit's pages and the briefings, read from the stored billing.

`snapshot(livemode, profile)` reads one mode's billing once (`ledger_from_db`), runs the engine
through the last full UTC day and hands the pages what they show: the movement table and the
headline figures; cohorts, the forecast, customers at risk and the other profile's figures are
computed the first time a page asks. What comes from billing alone (the ledger, the engine's
result under each profile, the headline, cohorts, the forecast) is kept between requests in
`revenue_cache`, keyed on the stored billing's state, the day and the settings, so it is
always as fresh as the last sync; each request gets a `view` of it whose customers' names,
churn risk (support tickets) and leaving customers are computed for that request.

Why the last full day and not "now": a service period covers whole days until the day its
renewal starts, so a subscription that renews this afternoon would look churned this morning.
Every renewal of yesterday has happened by now, so yesterday's close is a number that holds.

A customer whose records cannot be counted (`revenue.quarantine`) is left out of every figure
and listed in `Snapshot.left_out` with the reasons; whatever shows the figures shows that list
too (the pages' notice, the briefing's line), so no figure is silently short.

`known_at` says whose knowledge the snapshot uses. The pages use everything stored (None); a
snapshot of an earlier day (`as_of` given) knows what was known at that day's close, and the
briefing what was known when its window ended: refunds, cancellations, voids and payments
made after that moment are not in it (`revenue.known` has the rules), and neither are the
support tickets the churn risk reads, nor who was leaving at period end.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from functools import cached_property
from typing import Any, TypeVar, cast

from django.conf import settings
from django.db.models import Q

from founderops.core import clock, gcpause
from founderops.reports import revenue_cache
from founderops.revenue import churn_risk, cohorts, forecast, insights, known, ledger, metrics
from founderops.revenue.billing import Exclusion, Ledger, RevenueInputError
from founderops.revenue.book import day_number, from_ledger
from founderops.revenue.engine import PROFILES, Result, Settings, compute
from founderops.revenue.models import BillingCustomer, Subscription
from founderops.support.models import Ticket

T = TypeVar("T")
PROFILE_NAMES = {"chartmogul": "ChartMogul-like", "stripe": "Stripe-like"}
DEFAULT_PROFILE = "chartmogul"
# Churn pooled over a quarter: one quiet month would make LTV infinite, one bad one tiny.
LTV_WINDOW = 3
FORECAST_MONTHS = 6
# Why the two profiles can disagree, per setting that differs between them.
SETTING_WORDS = {
    "discounts": "which discounts lower MRR (all of them, or only coupons that last forever)",
    "churn_recognition": "when a cancellation counts as churn",
    "past_due": "whether an unpaid invoice keeps counting",
    "refunds": "whether refunds lower MRR",
    "trials": "whether trials count at their list price",
    "tax": "whether tax is part of MRR",
    "fx_date": "which day's rate converts foreign currencies",
}


@dataclass(frozen=True)
class Who:
    """A billing customer as the pages name them."""

    key: str
    name: str
    email: str
    customer_id: int | None


@dataclass(frozen=True)
class MonthRow:
    month: date
    # Month to date (the last full day is not the month's last).
    partial: bool
    start: Fraction
    end: Fraction
    fx: Fraction
    moves: dict[str, Fraction]
    counts: dict[str, int]
    customers: int


@dataclass(frozen=True)
class Headline:
    as_of: date
    mrr: Fraction
    arr: Fraction
    arpa: Fraction | None
    customers: int
    # The last complete month, whose rates are shown (None: not one complete month yet).
    month: metrics.MonthRates | None
    trailing: metrics.Retention | None
    ltv: metrics.Ltv | None


@dataclass(frozen=True)
class Difference:
    label: str
    mine: str
    other: str


@dataclass(frozen=True)
class AtRisk:
    who: Who
    mrr: Fraction
    probability: float
    reasons: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class LeftOut:
    """A customer left out of the figures, and why (each reason names its record)."""

    who: Who
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Leaving:
    who: Who
    mrr: Fraction
    ends: datetime | None


class Snapshot:
    """One mode's revenue through `as_of` (a full UTC day) under one profile.

    `family` holds the snapshots of the same billing under each profile (the cache's entry);
    `shared` what this one computed from billing alone, shared by every `view` of it."""

    def __init__(
        self,
        livemode: bool,
        profile: str,
        as_of: date,
        records: Ledger,
        result: Result,
        known_at: datetime | None = None,
        family: dict[str, Any] | None = None,
        shared: dict[str, Any] | None = None,
    ) -> None:
        self.livemode, self.profile, self.as_of = livemode, profile, as_of
        self.ledger, self.result = records, result
        # None: everything stored now; else facts that happened before this instant only.
        self.known_at = known_at
        self.family: dict[str, Any] = {profile: self} if family is None else family
        self.shared: dict[str, Any] = {} if shared is None else shared

    def view(self) -> Snapshot:
        """This snapshot for one more request: what comes from billing alone is shared; what
        also reads other tables or the clock (names, tickets, who is leaving) is computed
        again."""
        return Snapshot(
            self.livemode,
            self.profile,
            self.as_of,
            self.ledger,
            self.result,
            self.known_at,
            self.family,
            self.shared,
        )

    def _kept(self, name: str, make: Callable[[], T]) -> T:
        if name not in self.shared:
            # Two requests at once may both compute it: the same value, one of them kept.
            # Large and kept: the collector would walk it again and again (core.gcpause).
            with gcpause.paused():
                self.shared[name] = make()
        return cast(T, self.shared[name])

    @property
    def profile_name(self) -> str:
        return PROFILE_NAMES[self.profile]

    @property
    def last(self) -> int:
        return len(self.result.months) - 1

    @property
    def complete(self) -> int:
        """Index of the last complete month (-1: none yet)."""
        return self.last if (self.as_of + timedelta(days=1)).day == 1 else self.last - 1

    @property
    def rows(self) -> list[MonthRow]:
        return self._kept("rows", self._rows)

    def _rows(self) -> list[MonthRow]:
        return [
            MonthRow(
                m.month,
                index > self.complete,
                m.start,
                m.end,
                m.fx,
                m.moves,
                m.counts,
                m.paying_end,
            )
            for index, m in enumerate(self.result.months)
        ]

    @property
    def headline(self) -> Headline:
        return self._kept("headline", lambda: headline(self))

    @cached_property
    def people(self) -> dict[str, Who]:
        return people(self.livemode)

    @cached_property
    def left_out(self) -> list[LeftOut]:
        return left_out(self.ledger.excluded, lambda key: who(self, key))

    @property
    def left_out_summary(self) -> str:
        return left_out_summary(len(self.left_out))

    @property
    def cohorts(self) -> list[cohorts.Cohort]:
        return self._kept("cohorts", lambda: cohorts.cohorts(self.result))

    @property
    def forecast(self) -> forecast.Forecast | None:
        """The forecast, kept while the churn already scheduled (read per request from the
        subscriptions, as `leaving` is) stays the same."""
        scheduled = scheduled_churn(self)
        kept = self.shared.get("forecast")
        if kept is None or kept[0] != scheduled:
            kept = (scheduled, mrr_forecast(self, scheduled))
            self.shared["forecast"] = kept
        found: forecast.Forecast | None = kept[1]
        return found

    @cached_property
    def at_risk(self) -> list[AtRisk]:
        return at_risk(self)

    @cached_property
    def leaving(self) -> list[Leaving]:
        return leaving(self)

    @cached_property
    def other(self) -> Snapshot:
        name = next(name for name in PROFILES if name != self.profile)
        if self.family.get(name) is None:
            result = compute(self.result.book, PROFILES[name])
            self.family[name] = Snapshot(
                self.livemode, name, self.as_of, self.ledger, result, self.known_at, self.family
            )
        found: Snapshot = self.family[name]
        return found.view()

    def mrr_of(self, key: str) -> Fraction:
        """A customer's MRR at the close of `as_of`."""
        index = self.index.get(key)
        return Fraction(0) if index is None else self.result.month_end(index)[self.last]

    @property
    def index(self) -> dict[str, int]:
        return self._kept("index", lambda: {key: n for n, key in enumerate(self.result.customers)})


# --- computing ----------------------------------------------------------------------------------


def last_full_day(moment: datetime | None = None) -> date:
    return (moment or clock.now()).date() - timedelta(days=1)


def snapshot(
    livemode: bool,
    profile: str = DEFAULT_PROFILE,
    as_of: date | None = None,
    known_at: datetime | None = None,
) -> Snapshot | None:
    """The revenue of one mode through `as_of` (default: yesterday, UTC) with what was known
    before `known_at` (default: everything stored, or with `as_of` given, the close of that
    day; a moment not in the past is everything stored); None without any billing history
    that reaches a full day. A customer whose records cannot be counted is left out
    (`Snapshot.left_out` says who and why); RevenueInputError only when nothing can be
    counted: every customer left out, or a problem of the whole book (amounts too large for
    exact arithmetic). The message says why."""
    if known_at is None and as_of is not None:
        known_at = known.close_of(as_of)
    known_at = known.capped(known_at)
    as_of = as_of or last_full_day()
    key, family = revenue_cache.family(livemode, as_of, (known_at, gross_margin()))
    if profile not in family:
        first = not family
        with gcpause.paused():
            family[profile] = _computed(livemode, profile, as_of, known_at, family)
        if first:
            revenue_cache.confirm(key)
    found: Snapshot | None = family[profile]
    return None if found is None else found.view()


def _computed(
    livemode: bool,
    profile: str,
    as_of: date,
    known_at: datetime | None,
    family: dict[str, Any],
) -> Snapshot | None:
    """A new member of `family`: from a sibling's ledger when there is one, else read."""
    sibling = next(iter(family.values()), False)
    if sibling is None:
        return None  # the sibling found no full day: no profile does
    if isinstance(sibling, Snapshot):
        records, book = sibling.ledger, sibling.result.book
    else:
        records = ledger.ledger_from_db(livemode, through=as_of, known_at=known_at)
        if not any(invoice.period_start.date() <= as_of for invoice in records.invoices):
            if records.excluded:
                # Nothing left to count: say why rather than look like an empty account.
                names = people(livemode)
                raise RevenueInputError(
                    left_out_text(left_out(records.excluded, lambda key: _named(names, key)))
                )
            return None  # nothing billed yet, or only from today: no full day to show
        whole = from_ledger(records)
        # Cut at the close of `as_of`: later periods (billed ahead, or this morning) wait.
        book = replace(whole, days=day_number(as_of) - whole.first + 1)
    result = compute(book, PROFILES[profile])
    return Snapshot(livemode, profile, as_of, records, result, known_at, family)


def has_billing(livemode: bool) -> bool:
    return BillingCustomer.objects.filter(livemode=livemode).exists()


def headline(snap: Snapshot) -> Headline:
    last = snap.result.months[snap.last]
    complete = snap.complete
    month = metrics.month_rates(snap.result.months[complete]) if complete >= 0 else None
    trailing = metrics.trailing_retention(snap.result, complete) if complete >= 12 else None
    ltv = metrics.ltv(snap.result, complete, gross_margin(), LTV_WINDOW) if complete >= 0 else None
    return Headline(
        snap.as_of,
        last.end,
        12 * last.end,
        last.end / last.paying_end if last.paying_end else None,
        last.paying_end,
        month,
        trailing,
        ltv,
    )


def differing_settings(first: Settings, second: Settings) -> list[tuple[str, str, str, str]]:
    """(setting, what it decides, first's choice, second's choice) where they differ."""
    return [
        (f.name, SETTING_WORDS[f.name], getattr(first, f.name), getattr(second, f.name))
        for f in fields(Settings)
        if getattr(first, f.name) != getattr(second, f.name)
    ]


# --- who they are -------------------------------------------------------------------------------


def people(livemode: bool) -> dict[str, Who]:
    rows = BillingCustomer.objects.filter(livemode=livemode).values_list(
        "stripe_id", "name", "email", "customer_id", "customer__name"
    )
    return {
        key: Who(key, name or linked or email or key, email, customer_id)
        for key, name, email, customer_id, linked in rows
    }


def who(snap: Snapshot, key: str) -> Who:
    return _named(snap.people, key)


def _named(names: dict[str, Who], key: str) -> Who:
    return names.get(key) or Who(key, key, "", None)


# --- customers left out -------------------------------------------------------------------------


def left_out(exclusions: list[Exclusion], name: Callable[[str], Who]) -> list[LeftOut]:
    """The exclusions by customer, in the order first named."""
    reasons: dict[str, list[str]] = {}
    for exclusion in exclusions:
        reasons.setdefault(exclusion.customer, []).append(str(exclusion))
    return [LeftOut(name(key), tuple(found)) for key, found in reasons.items()]


def left_out_summary(count: int) -> str:
    if count == 1:
        return "1 customer is left out of these figures"
    return f"{count} customers are left out of these figures"


def left_out_text(items: list[LeftOut]) -> str:
    """One sentence naming every customer left out and why ("" when none is)."""
    if not items:
        return ""
    named = "; ".join(f"{item.who.name} ({', '.join(item.reasons)})" for item in items)
    return f"{left_out_summary(len(items))}: {named}"


# --- forecast, risk -----------------------------------------------------------------------------


def mrr_forecast(snap: Snapshot, scheduled: tuple[Fraction, ...] = ()) -> forecast.Forecast | None:
    """Six months ahead from the complete months (a month to date would read as a dip), by the
    bridge of their movements, with at least the churn `scheduled` for each month."""
    months = snap.result.months[: snap.complete + 1]
    if not months or max(m.end for m in months) <= 0:
        return None
    return forecast.forecast_mrr(
        [m.month for m in months],
        [m.end for m in months],
        FORECAST_MONTHS,
        [m.moves for m in months],
        scheduled,
    )


def scheduled_churn(snap: Snapshot) -> tuple[Fraction, ...]:
    """MRR of the customers leaving at their period's end (`leaving`), by the forecast month
    their subscription ends in (UTC); () when none ends within the forecast. A customer without
    a known end is left out: the month it will count in is not known."""
    after = snap.result.months[snap.complete].month if snap.complete >= 0 else None
    if after is None:
        return ()
    index = after.year * 12 + after.month - 1
    amounts = [Fraction(0)] * FORECAST_MONTHS
    for item in snap.leaving:
        if item.ends is None:
            continue
        ahead = item.ends.astimezone(UTC).year * 12 + item.ends.astimezone(UTC).month - 1 - index
        if 1 <= ahead <= FORECAST_MONTHS:
            amounts[ahead - 1] += item.mrr
    while amounts and not amounts[-1]:
        amounts.pop()
    return tuple(amounts)


def at_risk(snap: Snapshot) -> list[AtRisk]:
    """Every paying customer's churn risk, riskiest first; those already leaving are listed
    apart (`leaving`), not scored. The model learns from past snapshots whose ticket counts
    are those of their own 90 days, as the current score's are (`ticket_log`)."""
    features, scorer = risk_model(snap, ticket_log(snap))
    gone = {item.who.key for item in snap.leaving}
    scores = churn_risk.score_all(
        {key: row for key, row in features.items() if key not in gone}, scorer
    )
    return [
        AtRisk(
            who(snap, s.customer),
            snap.mrr_of(s.customer),
            s.probability,
            tuple(r.text for r in s.reasons),
            s.source,
        )
        for s in scores
    ]


def risk_model(
    snap: Snapshot, tickets: insights.TicketLog
) -> tuple[dict[str, churn_risk.ChurnFeatures], churn_risk.Scorer]:
    """Every paying customer's features and the scorer fitted on the founder's own history:
    from billing and the ticket log, so kept with the snapshot while the log is the same."""
    kept = snap.shared.get("risk")
    if kept is not None and kept[0] == tickets:
        return kept[1], kept[2]
    months = [m.month for m in snap.result.months]
    with gcpause.paused():
        month_end = snap.result.month_end_by_name()
        features = insights.churn_features_from_ledger(
            snap.ledger, month_end, snap.last, tickets, months, through=snap.as_of
        )
        history = insights.labelled_history(snap.ledger, months, month_end, tickets)
        scorer = churn_risk.scorer_for(history)
    snap.shared["risk"] = (tickets, features, scorer)
    return features, scorer


def ticket_log(snap: Snapshot) -> insights.TicketLog:
    """Every support ticket of a billing customer (through their customer) up to the close of
    `as_of` and before the snapshot's `known_at`, with its time and whether it read as
    negative."""
    keys: dict[int, list[str]] = defaultdict(list)
    for key, person in snap.people.items():
        if person.customer_id is not None:
            keys[person.customer_id].append(key)
    billed = BillingCustomer.objects.filter(livemode=snap.livemode).values("customer_id")
    until = _midnight(snap.as_of + timedelta(days=1))
    if snap.known_at is not None:
        until = min(until, snap.known_at)
    rows = Ticket.objects.filter(customer_id__in=billed, created_at__lt=until).values_list(
        "customer_id", "created_at", "sentiment"
    )
    return insights.TicketLog.of(
        insights.TicketSeen(key, created_at, sentiment == Ticket.Sentiment.NEGATIVE)
        for customer_id, created_at, sentiment in rows.iterator()
        for key in keys[customer_id]
    )


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def leaving(snap: Snapshot) -> list[Leaving]:
    """Paying customers whose subscription is canceled and ends at its period's end (as it
    stood at the snapshot's `known_at`)."""
    ends: dict[str, datetime | None] = {}
    for key, end in leaving_subscriptions(snap.livemode, snap.known_at):
        if key and snap.mrr_of(key) > 0:
            ends[key] = max(filter(None, (ends.get(key), end)), default=None)
    found = [Leaving(who(snap, key), snap.mrr_of(key), end) for key, end in ends.items()]
    return sorted(found, key=lambda item: (item.ends is None, item.ends or clock.now()))


def leaving_subscriptions(
    livemode: bool, known_at: datetime | None
) -> list[tuple[str | None, datetime | None]]:
    """(customer key, end) of each subscription canceled and still running at `known_at`."""
    if known_at is None:
        now = Subscription.objects.filter(
            livemode=livemode, cancel_at_period_end=True, ended_at__isnull=True
        ).exclude(status__in=("canceled", "incomplete_expired"))
        flagged = list(now.values_list("customer__stripe_id", "current_period_end"))
        return flagged + ended_in_paid_time(livemode, clock.now())
    candidates = Subscription.objects.filter(
        Q(ended_at__isnull=True) | Q(ended_at__gte=known_at),
        livemode=livemode,
        canceled_at__lt=known_at,
        needs_fetch=False,
    ).exclude(created__gte=known_at)
    rows = candidates.values_list(
        "customer__stripe_id",
        "cancel_at",
        "current_period_end",
        "ended_at",
        "canceled_at",
        "cancel_at_period_end",
    )
    return [
        # The period then is the one canceled in: it ends where `cancel_at` says (or it did).
        (key, cancel_at or ended_at or period_end)
        for key, cancel_at, period_end, ended_at, canceled_at, flagged in rows
        if known.subscription_state(ended_at, canceled_at, flagged, known_at).leaving
    ] + ended_in_paid_time(livemode, known_at)


def ended_in_paid_time(livemode: bool, at: datetime) -> list[tuple[str | None, datetime | None]]:
    """(customer key, period end) of each subscription canceled at once, before `at`, whose
    last paid period still runs then, for a customer with no other subscription running: churn
    is recognised at that period's end (ChartMogul's rule, both profiles), so their MRR still
    counts until then and they are on their way out, like a cancellation at period end."""
    running = (
        Subscription.objects.filter(livemode=livemode, created__lte=at, customer__isnull=False)
        .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=at))
        .values("customer_id")  # never NULL: NOT IN a list holding NULL keeps nothing
    )
    ended = Subscription.objects.filter(
        livemode=livemode, ended_at__lte=at, current_period_end__gt=at, needs_fetch=False
    ).exclude(customer_id__in=running)
    return list(ended.values_list("customer__stripe_id", "current_period_end"))


def gross_margin() -> Fraction:
    """FOUNDEROPS_REVENUE_GROSS_MARGIN as an exact fraction (1: revenue LTV, ChartMogul's
    default until told a margin; the formula on the page shows the figure used)."""
    return Fraction(str(settings.REVENUE_GROSS_MARGIN))
