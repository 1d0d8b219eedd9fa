"""What the stored billing said at an earlier moment: the rules that rewind a row to `known_at`.

The stored Stripe copy holds each object as it stands now. A report about a past day must not
use what happened after it, so every reader that takes `known_at` (an aware datetime; a fact
counts when it happened strictly before it) applies these rules to the rows it reads:

- Charges, refunds, invoices and subscriptions created at or after `known_at` do not exist yet
  (by `created`; a row without one falls back to `synced_at`, when FounderOps first stored it).
- An invoice's status is rewound through its status transition times: paid later is open then,
  voided or marked uncollectible later is open then, finalized later is a draft then (drafts
  are not counted). A paid invoice without `paid_at` counts as paid since it was created: the
  time is unknown and its creation is the earliest it can have been paid.
- A subscription ended later is still running; canceled later is not canceled (and not
  "leaving at period end"); canceled before and ended later was leaving then.

What the models do not time, and the approximation used: a refund's status (pending ->
failed) is taken as it is now; a subscription's `status` (past_due, unpaid) has no transition
times, so whether it was past due is read from its invoices (one open then after a payment
failed before then); a cancellation that was taken back later (Stripe clears `canceled_at`)
is not known to have happened; trial ends and invoice lines are as stored (Stripe does not
change a finalized invoice's lines); FX rates carry only their day, and only days up to the
report's cut are ever used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from founderops.core import clock


def close_of(day: date) -> datetime:
    """The end of `day` in UTC: what was known at its close happened before this instant."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


def capped(known_at: datetime | None) -> datetime | None:
    """`known_at`, or None (everything stored) when it is not in the past."""
    return known_at if known_at is not None and known_at < clock.now() else None


def happened(moment: datetime | None, known_at: datetime | None) -> bool:
    """Whether an event at `moment` had happened by `known_at` (None: as stored now)."""
    return moment is not None and (known_at is None or moment < known_at)


def existed(
    created: datetime | None, synced_at: datetime | None, known_at: datetime | None
) -> bool:
    """Whether a row created at `created` (else first stored at `synced_at`) existed then."""
    return known_at is None or happened(created or synced_at, known_at)


@dataclass(frozen=True)
class InvoiceTimes:
    status: str
    created: datetime | None
    finalized_at: datetime | None
    paid_at: datetime | None
    voided_at: datetime | None
    marked_uncollectible_at: datetime | None


def invoice_status(times: InvoiceTimes, known_at: datetime | None) -> str:
    """The invoice's Stripe status at `known_at`: "" before it existed, else draft, open,
    paid, void or uncollectible."""
    if known_at is None:
        return times.status
    if times.created is not None and not happened(times.created, known_at):
        return ""
    if times.status == "draft" or (
        times.finalized_at is not None and not happened(times.finalized_at, known_at)
    ):
        return "draft"
    if times.status == "paid" and (times.paid_at is None or happened(times.paid_at, known_at)):
        return "paid"
    if times.status not in ("paid", "void", "uncollectible"):
        return times.status
    return _closed_status(times, known_at)


def _closed_status(times: InvoiceTimes, known_at: datetime) -> str:
    """A paid, void or uncollectible invoice as it was before it reached that state."""
    if times.status == "void" and (times.voided_at is None or happened(times.voided_at, known_at)):
        return "void"
    marked = times.marked_uncollectible_at
    # Marked uncollectible, then paid later (Stripe allows that): uncollectible in between.
    if times.status != "void" and marked is not None and happened(marked, known_at):
        return "uncollectible"
    if times.status == "uncollectible" and marked is None:
        return "uncollectible"  # no time to rewind by: as it stands
    return "open"


@dataclass(frozen=True)
class SubscriptionState:
    """A subscription's cancellation as it stood at `known_at`."""

    ended_at: datetime | None
    canceled_at: datetime | None
    # Canceled and still running: it ends at its period's end (or at `cancel_at`).
    leaving: bool


def subscription_state(
    ended_at: datetime | None,
    canceled_at: datetime | None,
    cancel_at_period_end: bool,
    known_at: datetime | None,
) -> SubscriptionState:
    if known_at is None:
        return SubscriptionState(ended_at, canceled_at, cancel_at_period_end and ended_at is None)
    ended = ended_at if happened(ended_at, known_at) else None
    canceled = canceled_at if happened(canceled_at, known_at) else None
    # Still flagged now, or ended since: either way it was on its way out then.
    leaving = (
        canceled is not None and ended is None and (cancel_at_period_end or ended_at is not None)
    )
    return SubscriptionState(ended, canceled, leaving)
