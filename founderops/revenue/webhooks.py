"""Stripe events in: verified, stored before anything else, then processed once.

`/hooks/stripe/` checks `Stripe-Signature` against the raw body with each configured endpoint
secret (the SDK's WebhookSignature, constant-time), refuses a timestamp older than
FOUNDEROPS_STRIPE_WEBHOOK_TOLERANCE_SECONDS or more than a minute ahead of our clock (a captured
request cannot be replayed later), then stores the event keyed by its id. A delivery of an
event already stored changes nothing and still answers 200, so Stripe stops retrying.

Processing (`process_event`, a job queued after the commit, or reconciliation) claims the row,
stores the object the event carries through `stripe_store` (older snapshots never overwrite
newer ones) and marks it processed, all in one transaction: a crash rolls back to "received".
An error marks it failed with the reason; reconciliation tries it again, up to MAX_ATTEMPTS.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from founderops.core import audit, clock, jobs, secrets
from founderops.core.errors import FounderOpsError
from founderops.revenue import dunning, stripe_api, stripe_store
from founderops.revenue.models import StripeAccount, StripeEvent

ACTOR = "stripe"
PROCESS_JOB = "founderops.revenue.tasks.process_event"
MAX_BODY_BYTES = 2 * 1024 * 1024
# Our clock and Stripe's may differ a little; a timestamp further ahead is refused.
FUTURE_SKEW = timedelta(seconds=60)
MAX_ATTEMPTS = 5
# Events whose object is gone for good, rather than changed.
DELETING = frozenset(
    {
        "customer.deleted",
        "product.deleted",
        "price.deleted",
        "plan.deleted",
        "coupon.deleted",
        "customer.discount.deleted",
        "invoice.deleted",
    }
)
# What processing may run into with a malformed object or a failing API call.
PROCESSING_ERRORS = (FounderOpsError, stripe.StripeError, KeyError, TypeError, ValueError)


class WebhookError(Exception):
    status = 400
    code = "malformed"


class Malformed(WebhookError):
    pass


class BadSignature(WebhookError):
    code = "bad_signature"


class Stale(WebhookError):
    code = "stale_timestamp"


class FromTheFuture(WebhookError):
    code = "future_timestamp"


class NotConfigured(WebhookError):
    status = 404
    code = "not_configured"


class TooLarge(WebhookError):
    status = 413
    code = "too_large"


@dataclass(frozen=True)
class Receipt:
    event: StripeEvent
    stored: bool


# Receiving.


def receive(body: bytes, header: str | None) -> Receipt:
    """Verify a delivery, then store its event (once); the processing job follows the commit."""
    if len(body) > MAX_BODY_BYTES:
        raise TooLarge(f"the body is larger than {MAX_BODY_BYTES} bytes")
    keys = webhook_secrets()
    if not keys:
        raise NotConfigured(
            "no Stripe webhook secret: set FOUNDEROPS_STRIPE_WEBHOOK_SECRET to the endpoint's "
            "signing secret (whsec_…)"
        )
    verify(body, header or "", keys, clock.now())
    event = parse(body.decode("utf-8"))
    row, stored = store_event(event, body.decode("utf-8"), StripeEvent.Via.WEBHOOK, queue=True)
    return Receipt(row, stored)


def webhook_secrets() -> list[str]:
    """The settings' secrets, then any stored with `founderops stripe connect`."""
    sealed = StripeAccount.objects.exclude(webhook_secret_sealed="").values_list(
        "webhook_secret_sealed", flat=True
    )
    return [*settings.STRIPE_WEBHOOK_SECRET, *(secrets.reveal(s) for s in sealed)]


def verify(body: bytes, header: str, keys: list[str], now: datetime) -> None:
    """Raise unless one of `keys` signed this body, at a time close to `now`."""
    try:
        payload = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("the body is not UTF-8 text") from None
    signed_at = _timestamp(header)
    if not any(_signed_with(payload, header, key) for key in keys):
        raise BadSignature(
            "the Stripe-Signature header does not match the body signed with the endpoint's "
            "secret (check FOUNDEROPS_STRIPE_WEBHOOK_SECRET)"
        )
    tolerance = timedelta(seconds=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS)
    if signed_at < now - tolerance:
        raise Stale(
            f"the signature's timestamp {signed_at:%Y-%m-%d %H:%M:%S} UTC is more than "
            f"{int(tolerance.total_seconds())} s old: refused as a possible replay"
        )
    if signed_at > now + FUTURE_SKEW:
        raise FromTheFuture(
            f"the signature's timestamp {signed_at:%Y-%m-%d %H:%M:%S} UTC is in the future"
        )


def _timestamp(header: str) -> datetime:
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    raw = parts.get("t", "").strip()
    if not (raw.isascii() and raw.isdigit()):
        raise BadSignature("the Stripe-Signature header is missing or has no timestamp (t=…)")
    signed_at = epoch(int(raw)) if len(raw) <= len(str(MAX_EPOCH)) else None
    if signed_at is None:
        raise BadSignature(
            f"the Stripe-Signature timestamp t={raw[:20]}{'…' if len(raw) > 20 else ''} is not "
            "a time in seconds since 1970 before the year 10000"
        )
    return signed_at


# The last second datetime can hold (9999-12-31 23:59:59 UTC).
MAX_EPOCH = 253402300799


def epoch(seconds: object) -> datetime | None:
    """A Unix time in seconds as a UTC datetime; None when it is not one datetime can hold."""
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        return None
    if not 0 <= seconds <= MAX_EPOCH:
        return None
    return datetime.fromtimestamp(seconds, tz=UTC)


def _signed_with(payload: str, header: str, key: str) -> bool:
    try:
        # Tolerance None: the SDK checks the signature only; the time window is ours (above),
        # on our clock and in both directions.
        stripe.WebhookSignature.verify_header(payload, header, key, tolerance=None)
    except stripe.SignatureVerificationError:
        return False
    return True


def parse(text: str) -> dict[str, Any]:
    """The event object, checked for the fields processing relies on."""
    try:
        event = json.loads(text)
    except json.JSONDecodeError as error:
        raise Malformed(f"the body is not JSON: {error.msg} at line {error.lineno}") from None
    except RecursionError:
        raise Malformed("the body is not a Stripe event: JSON nested too deeply") from None
    except ValueError as error:  # e.g. an integer of more than 4300 digits
        raise Malformed(f"the body is not a Stripe event: {error}") from None
    if not isinstance(event, dict) or event.get("object") != "event":
        kind = event.get("object") if isinstance(event, dict) else type(event).__name__
        raise Malformed(f"expected a Stripe event object, got {kind!r}")
    problems = [
        name
        for name, ok in (
            ("id", isinstance(event.get("id"), str) and event["id"]),
            ("type", isinstance(event.get("type"), str) and event["type"]),
            ("created", epoch(event.get("created")) is not None),
            ("livemode", isinstance(event.get("livemode"), bool)),
            ("data.object", isinstance((event.get("data") or {}).get("object"), dict)),
        )
        if not ok
    ]
    if problems:
        raise Malformed(f"the event lacks or has malformed: {', '.join(problems)}")
    return event


# Storing.


def store_event(
    event: dict[str, Any], body: str, via: str, queue: bool
) -> tuple[StripeEvent, bool]:
    """Keep the event (once per id); True when it is new. `queue`: process it in a job."""
    existing = StripeEvent.objects.filter(stripe_id=event["id"]).first()
    if existing is not None:
        return existing, False
    obj = event["data"]["object"]
    row = StripeEvent(
        stripe_id=str(event["id"])[:255],
        livemode=bool(event["livemode"]),
        type=str(event["type"])[:100],
        api_version=str(event.get("api_version") or "")[:60],
        created=datetime.fromtimestamp(int(event["created"]), tz=UTC),
        object_type=str(obj.get("object") or "")[:60],
        object_id=stripe_store.ref(obj)[:255],
        via=via,
        body=body,
        received_at=clock.now(),
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        # Delivered by a webhook and listed by reconciliation at the same moment.
        return StripeEvent.objects.get(stripe_id=row.stripe_id), False
    if queue:
        pk = row.pk
        transaction.on_commit(lambda: jobs.enqueue(PROCESS_JOB, pk))
    return row, True


# Processing.


def process_event(pk: int, api: stripe.StripeClient | None = None) -> str:
    """Store the object the event carries, once; returns the event's status (or "skipped")."""
    try:
        with transaction.atomic():
            event = (
                StripeEvent.objects.select_for_update()
                .filter(pk=pk, status__in=[StripeEvent.Status.RECEIVED, StripeEvent.Status.FAILED])
                .first()
            )
            if event is None:
                return "skipped"
            event.status = _apply(event, api)
            event.attempts += 1
            event.error = ""
            event.processed_at = clock.now()
            event.save(update_fields=["status", "attempts", "error", "processed_at"])
            return str(event.status)
    except PROCESSING_ERRORS as error:
        _failed(pk, error)
        return str(StripeEvent.Status.FAILED)


def _apply(event: StripeEvent, api: stripe.StripeClient | None) -> str:
    payload = json.loads(event.body)
    obj = payload["data"]["object"]
    if not stripe_store.stores(str(obj.get("object", ""))):
        return str(StripeEvent.Status.IGNORED)
    context = stripe_store.Context(
        livemode=event.livemode,
        version=int(payload["created"]),
        deleted=event.type in DELETING,
        more=stripe_api.more(api) if api is not None else None,
    )
    stripe_store.store(obj, context)
    dunning.on_event(event.type, event.livemode, obj, event.created)
    return str(StripeEvent.Status.PROCESSED)


def _failed(pk: int, error: Exception) -> None:
    reason = f"{type(error).__name__}: {error}" if not isinstance(error, FounderOpsError) else ""
    StripeEvent.objects.filter(pk=pk).update(
        status=StripeEvent.Status.FAILED,
        error=(reason or str(error))[:2000],
        attempts=F("attempts") + 1,
    )
    audit.record(
        ACTOR,
        "revenue.stripe_event_failed",
        ("stripe_event", pk),
        outcome="failed",
        details={"error": (reason or str(error))[:500]},
    )


def pending(livemode: bool) -> list[int]:
    """Events not processed yet, or failed fewer than MAX_ATTEMPTS times, oldest first."""
    return list(
        StripeEvent.objects.filter(
            livemode=livemode,
            status__in=[StripeEvent.Status.RECEIVED, StripeEvent.Status.FAILED],
            attempts__lt=MAX_ATTEMPTS,
        )
        .order_by("created", "id")
        .values_list("pk", flat=True)
    )
