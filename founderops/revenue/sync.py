"""Backfill from Stripe's list endpoints, and reconciliation from its Events API.

**Backfill** (`founderops stripe sync`) pages through every list endpoint (auto-pagination,
100 a page) and stores each object with the time its listing started as version: anything an
event changes later wins, an event older than the listing changes nothing. Running it twice
stores the same rows.

**Reconciliation** (a job every FOUNDEROPS_STRIPE_RECONCILE_MINUTES, or `founderops stripe
reconcile`) lists `/v1/events` created since the newest event seen (with a few minutes of
overlap), stores the ones it lacks exactly as a webhook would, processes every event still
waiting or failed (oldest first, through the same path as webhooks), then fetches the objects
known only by reference (stubs). Stripe keeps events for 30 days: after a longer gap, backfill.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import stripe

from founderops.core import audit, clock
from founderops.core.errors import FounderOpsError
from founderops.revenue import stripe_api, stripe_store, webhooks
from founderops.revenue.models import StripeAccount, StripeEvent

logger = logging.getLogger(__name__)

ACTOR = "stripe"
# Listed again at each reconciliation: events of the same second, or listed a little late.
OVERLAP_SECONDS = 300
EVENTS_KEPT = timedelta(days=30)
STUBS_PER_RUN = 200
# Expanded so that a discount's coupon (and so its duration) is known without another call.
LIST_PARAMS: dict[str, dict[str, Any]] = {
    "subscriptions": {"status": "all", "expand": ["data.discounts"]},
    "invoices": {"expand": ["data.discounts"]},
}
RETRIEVE_PARAMS: dict[str, dict[str, Any]] = {
    "subscription": {"expand": ["discounts"]},
    "invoice": {"expand": ["discounts"]},
}


@dataclass
class BackfillReport:
    livemode: bool
    stored: dict[str, int] = field(default_factory=dict)
    # Objects an event had already brought in a newer state.
    kept_newer: int = 0

    def summary(self) -> str:
        counts = ", ".join(f"{n} {name}" for name, n in self.stored.items())
        mode = "live" if self.livemode else "test"
        return f"Stripe {mode} mode: stored {counts or 'nothing'}; {self.kept_newer} kept newer"


@dataclass
class ReconcileReport:
    livemode: bool
    listed: int = 0
    new: int = 0
    processed: int = 0
    failed: int = 0
    fetched: int = 0
    # Events the API listed in a shape no event has: skipped (logged), the rest go on.
    malformed: int = 0
    # Why the events cannot be trusted to be complete ("" when they can).
    gap: str = ""

    def summary(self) -> str:
        mode = "live" if self.livemode else "test"
        text = (
            f"Stripe {mode} mode: {self.listed} events listed, {self.new} new, "
            f"{self.processed} processed, {self.failed} failed, {self.fetched} objects fetched"
        )
        if self.malformed:
            text += f", {self.malformed} malformed events skipped"
        return f"{text}; warning: {self.gap}" if self.gap else text


def account(livemode: bool) -> StripeAccount:
    row, _ = StripeAccount.objects.get_or_create(livemode=livemode)
    return row


def now_version() -> int:
    return int(clock.now().timestamp())


# Backfill.


def backfill(
    api: stripe.StripeClient,
    livemode: bool,
    only: list[str] | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> BackfillReport:
    """Store every object of every list endpoint (or of `only`), idempotently."""
    started = now_version()
    report = BackfillReport(livemode)
    listers = stripe_api.listers(api)
    for name in only or list(listers):
        if name not in listers:
            raise FounderOpsError(f"no Stripe list called {name!r}; known: {', '.join(listers)}")
        report.stored[name] = _backfill_one(api, listers[name], name, livemode, report)
        if progress is not None:
            progress(name, report.stored[name])
    _mark_backfilled(livemode, started)
    audit.record(
        ACTOR,
        "revenue.stripe_backfilled",
        outcome="live mode" if livemode else "test mode",
        details={"stored": report.stored, "kept_newer": report.kept_newer},
    )
    return report


def _backfill_one(
    api: stripe.StripeClient,
    lister: stripe_api.Lister,
    name: str,
    livemode: bool,
    report: BackfillReport,
) -> int:
    context = stripe_store.Context(livemode, now_version(), more=stripe_api.more(api))
    count = 0
    for obj in stripe_api.each(lister, LIST_PARAMS.get(name, {})):
        _check_mode(obj, livemode)
        stored = stripe_store.store(obj, context)
        count += 1
        report.kept_newer += not stored.applied
    return count


def _check_mode(obj: dict[str, Any], livemode: bool) -> None:
    if obj.get("livemode") is not None and bool(obj["livemode"]) != livemode:
        raise FounderOpsError(
            f"Stripe sent a {'live' if obj['livemode'] else 'test'}-mode {obj.get('object')} "
            f"to a {'live' if livemode else 'test'}-mode sync: check the API key"
        )


def _mark_backfilled(livemode: bool, started: int) -> None:
    row = account(livemode)
    row.backfilled_at = clock.now()
    # Events before the backfill began are already in what it stored.
    row.events_cursor = max(row.events_cursor, started)
    row.save(update_fields=["backfilled_at", "events_cursor"])


# Reconciliation.


def reconcile_configured() -> str:
    """Reconcile every mode a key is known for; "not configured" without one."""
    modes = stripe_api.configured_modes()
    if not modes:
        return "Stripe is not configured"
    results = []
    for livemode in modes:
        try:
            results.append(reconcile(stripe_api.client(livemode), livemode).summary())
        except (stripe.StripeError, FounderOpsError) as error:
            # An unreadable stored key or a refused request: shown by `stripe status`.
            _remember_error(livemode, error)
            results.append(f"Stripe {'live' if livemode else 'test'} mode failed: {error}")
    return "; ".join(results)


def reconcile(api: stripe.StripeClient, livemode: bool) -> ReconcileReport:
    report = ReconcileReport(livemode)
    row = account(livemode)
    report.gap = _gap(row)
    newest = _store_listed_events(api, livemode, _since(row), report)
    # process_event contains each event's errors: a bad one is marked failed, the rest go on.
    for status in webhooks.process_pending(livemode, api).values():
        report.processed += status == StripeEvent.Status.PROCESSED
        report.failed += status == StripeEvent.Status.FAILED
    # A stub that cannot be stored records its error on the row as it goes: keep it (after
    # the gap, if any) instead of overwriting it, so `stripe status` shows it.
    StripeAccount.objects.filter(pk=row.pk).update(last_error="")
    report.fetched = fetch_stubs(api, livemode)
    stub_error = StripeAccount.objects.filter(pk=row.pk).values_list("last_error", flat=True)[0]
    row.events_cursor = max(row.events_cursor, newest)
    row.reconciled_at = clock.now()
    row.last_error = "; ".join(error for error in (report.gap, stub_error) if error)[:2000]
    row.save(update_fields=["events_cursor", "reconciled_at", "last_error"])
    return report


def _gap(row: StripeAccount) -> str:
    """Stripe keeps events 30 days: a cursor older than that means changes were missed."""
    oldest = int((clock.now() - EVENTS_KEPT).timestamp())
    if not row.events_cursor or row.events_cursor >= oldest:
        return ""
    return (
        "the last event seen is older than the 30 days Stripe keeps events: changes in between "
        "are missing; run `founderops stripe sync`"
    )


def _since(row: StripeAccount) -> int:
    if row.events_cursor:
        return row.events_cursor - OVERLAP_SECONDS
    return int((clock.now() - EVENTS_KEPT).timestamp())


def _store_listed_events(
    api: stripe.StripeClient, livemode: bool, since: int, report: ReconcileReport
) -> int:
    newest = 0
    for event in stripe_api.each(api.v1.events, {"created": {"gte": since}}):
        report.listed += 1
        created = webhooks.epoch(event.get("created"))
        # Only a real time moves the cursor: a bogus one far ahead would skip events for good.
        newest = max(newest, int(created.timestamp()) if created else 0)
        if bool(event.get("livemode")) != livemode:
            continue
        body = json.dumps(event, separators=(",", ":"))
        try:
            parsed = webhooks.parse(body)
        except webhooks.Malformed as error:
            report.malformed += 1
            logger.warning("Stripe listed a malformed event %r: %s", event.get("id"), error)
            continue
        if not stripe_store.stores(str(parsed["data"]["object"].get("object"))):
            continue  # A type FounderOps does not store: not worth a row.
        _, new = webhooks.store_event(parsed, body, StripeEvent.Via.EVENTS_API, queue=False)
        report.new += new
    return newest


def _remember_error(livemode: bool, error: Exception) -> None:
    StripeAccount.objects.filter(livemode=livemode).update(last_error=str(error)[:2000])
    logger.warning("Stripe reconciliation failed (%s mode): %s", livemode, error)


# Stubs.


def fetch_stubs(api: stripe.StripeClient, livemode: bool, limit: int = STUBS_PER_RUN) -> int:
    """Fetch objects known only by reference (or stored incomplete); how many were stored."""
    fetched = 0
    retrievers = stripe_api.retrievers(api)
    for kind, model in stripe_store.MODELS.items():
        ids = model._default_manager.filter(livemode=livemode, needs_fetch=True, deleted=False)
        for stripe_id in ids.values_list("stripe_id", flat=True)[: limit - fetched]:
            try:
                fetched += refresh(retrievers[kind], kind, stripe_id, api, livemode)
            except FounderOpsError as error:
                # One object we cannot store must not hold up the others; it is tried again.
                _remember_error(livemode, error)
            except stripe.StripeError:
                raise  # The API itself failing: every other fetch would too.
            except Exception as error:
                # As for events (webhooks.process_event): an object that breaks storing in a
                # way no check foresaw must not stop the other stubs or the cursor, every run.
                logger.exception("Stripe %s %s could not be stored", kind, stripe_id)
                _remember_error(livemode, error)
    return fetched


def refresh(
    retriever: stripe_api.Retriever,
    kind: str,
    stripe_id: str,
    api: stripe.StripeClient,
    livemode: bool,
) -> bool:
    """Fetch one object and store it; an object Stripe no longer has is marked deleted."""
    version = now_version()
    try:
        obj = stripe_api.as_dict(retriever.retrieve(stripe_id, RETRIEVE_PARAMS.get(kind, {})))
    except stripe.InvalidRequestError as error:
        if error.code != "resource_missing":
            raise
        model = stripe_store.MODELS[kind]
        model._default_manager.filter(livemode=livemode, stripe_id=stripe_id).update(
            needs_fetch=False, deleted=True
        )
        return False
    context = stripe_store.Context(livemode, version, more=stripe_api.more(api))
    stripe_store.store(obj, context)
    return True
