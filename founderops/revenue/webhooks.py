"""Stripe events in: verified, stored before anything else, then processed once.

`/hooks/stripe/` checks `Stripe-Signature` against the raw body with each configured endpoint
secret (the SDK's WebhookSignature, constant-time), refuses a timestamp older than
FOUNDEROPS_STRIPE_WEBHOOK_TOLERANCE_SECONDS or more than a minute ahead of our clock (a captured
request cannot be replayed later), then stores the event keyed by its id. A delivery of an
event already stored changes nothing and still answers 200, so Stripe stops retrying.

Each secret belongs to one mode (live or test), as Stripe's endpoints do: an event is accepted
only when a secret of its own mode signed it, so a test endpoint's secret cannot bring in
live-mode data. Secrets stored with `founderops stripe webhook-secret --live|--test` carry
their mode; FOUNDEROPS_STRIPE_WEBHOOK_SECRET entries may say theirs (`live:whsec_…`,
`test:whsec_…`) and otherwise belong to FOUNDEROPS_STRIPE_LIVEMODE's mode.

Processing (`process_event`, a job queued after the commit, or reconciliation) claims the row,
stores the object the event carries through `stripe_store` (older snapshots never overwrite
newer ones) and marks it processed, all in one transaction: a crash rolls back to "received".
An object of another kind than the event's type names (EVENT_OBJECTS), or of the other mode
than the event's, is refused: the event is marked failed and nothing of it is stored.
Any error rolls that transaction back and marks the event failed with the reason, and the
events behind it are processed all the same; reconciliation tries it again, up to MAX_ATTEMPTS.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from founderops.core import audit, clock, jobs, secrets
from founderops.core.errors import FounderOpsError, InvalidInput
from founderops.revenue import dunning, stripe_api, stripe_store
from founderops.revenue.models import StripeAccount, StripeEvent

logger = logging.getLogger(__name__)

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
# The object an event carries, named by its type without the last part (`invoice.paid` ->
# `invoice`, `charge.refund.updated` -> `charge.refund`), for every kind FounderOps stores. An
# event of any other type (payment_intent.*, customer.source.*, ...) carries none of these.
EVENT_OBJECTS = {
    "customer": "customer",
    "customer.discount": "discount",
    "customer.subscription": "subscription",
    "product": "product",
    "price": "price",
    "plan": "plan",
    "coupon": "coupon",
    "subscription_schedule": "subscription_schedule",
    "invoice": "invoice",
    "invoice_payment": "invoice_payment",
    "charge": "charge",
    "charge.refund": "refund",
    "refund": "refund",
    "charge.dispute": "dispute",
    "credit_note": "credit_note",
}
# What processing expects to run into: an object refused with the reason (stripe_store checks
# shapes and ranges), or a failing API call. Anything else is logged with its traceback.
PROCESSING_ERRORS = (FounderOpsError, stripe.StripeError)


class WrongObject(InvalidInput):
    """An event whose object is not of the kind its type names (an invoice.paid event carrying
    a customer): nothing is stored, the event is marked failed with the reason."""


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


class WrongMode(WebhookError):
    code = "wrong_mode"


class NotConfigured(WebhookError):
    status = 404
    code = "not_configured"


class TooLarge(WebhookError):
    status = 413
    code = "too_large"


@dataclass(frozen=True)
class Secret:
    """An endpoint's signing secret and the mode of the events it may sign."""

    key: str
    livemode: bool


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
    signers = verify(body, header or "", keys, clock.now())
    event = parse(body.decode("utf-8"))
    if event["livemode"] not in signers:
        mode, other = _mode(event["livemode"]), _mode(not event["livemode"])
        raise WrongMode(
            f"a {mode}-mode event signed with a {other}-mode webhook secret: refused, so that "
            f"{other} data never mixes with {mode} (give the {mode} endpoint's secret: "
            f"`founderops stripe webhook-secret --{mode}`, or {mode}:whsec_… in "
            "FOUNDEROPS_STRIPE_WEBHOOK_SECRET)"
        )
    row, stored = store_event(event, body.decode("utf-8"), StripeEvent.Via.WEBHOOK, queue=True)
    return Receipt(row, stored)


def _mode(livemode: bool) -> str:
    return "live" if livemode else "test"


def webhook_secrets() -> list[Secret]:
    """The settings' secrets, then any stored with `founderops stripe webhook-secret`."""
    sealed = StripeAccount.objects.exclude(webhook_secret_sealed="").values_list(
        "webhook_secret_sealed", "livemode"
    )
    return [
        *(setting_secret(entry) for entry in settings.STRIPE_WEBHOOK_SECRET),
        *(Secret(secrets.reveal(key), livemode) for key, livemode in sealed),
    ]


def setting_secret(entry: str) -> Secret:
    """One FOUNDEROPS_STRIPE_WEBHOOK_SECRET entry: `live:whsec_…`, `test:whsec_…`, or a bare
    secret of FOUNDEROPS_STRIPE_LIVEMODE's mode (the mode the numbers and the API key use)."""
    mode, _, key = entry.partition(":")
    if key and mode in ("live", "test"):
        return Secret(key, mode == "live")
    return Secret(entry, settings.STRIPE_LIVEMODE)


def verify(body: bytes, header: str, keys: list[Secret], now: datetime) -> set[bool]:
    """The modes of the `keys` that signed this body; raises unless one did, at a time close to
    `now`."""
    try:
        payload = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Malformed("the body is not UTF-8 text") from None
    signed_at = _timestamp(header)
    signers = {key.livemode for key in keys if _signed_with(payload, header, key.key)}
    if not signers:
        raise BadSignature(
            "the Stripe-Signature header does not match the body signed with the endpoint's "
            "secret (check the endpoint's signing secret: FOUNDEROPS_STRIPE_WEBHOOK_SECRET or "
            "`founderops stripe webhook-secret`)"
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
    return signers


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
MAX_EPOCH = stripe_store.TIMES[1]


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
    if not isinstance(event, dict):
        raise Malformed(f"the body is not a Stripe event: JSON {_json_kind(event)}, not an object")
    if event.get("object") != "event":
        found = event.get("object")
        raise Malformed(
            'the body is not a Stripe event: "object": "event" is missing'
            if found is None
            else f'the body is not a Stripe event: its "object" is {stripe_store.shown(found)}, '
            'not "event"'
        )
    problems = _problems(event)
    if problems:
        raise Malformed(f"the event is malformed: {'; '.join(problems)}")
    obj = event["data"]["object"]
    # Stored in their own columns, and PostgreSQL refuses a NUL character in text.
    columns = {
        "id": event["id"],
        "type": event["type"],
        "api_version": event.get("api_version"),
        "data.object.object": obj.get("object"),
        "data.object.id": obj.get("id"),
    }
    nul = [name for name, value in columns.items() if isinstance(value, str) and "\x00" in value]
    if nul:
        raise Malformed(f"the event's {', '.join(nul)} holds a NUL character")
    return event


# The columns an event's id and type are kept in (StripeEvent); a longer value is refused, never
# cut: two ids cut to the same prefix would be one event.
ID_LENGTH = StripeEvent._meta.get_field("stripe_id").max_length or 0
TYPE_LENGTH = StripeEvent._meta.get_field("type").max_length or 0


def _problems(event: dict[str, Any]) -> list[str]:
    """What is wrong with the fields processing relies on, one reason each."""
    created, livemode = event.get("created"), event.get("livemode")
    found = [
        _text_problem("id", event.get("id"), ID_LENGTH),
        _text_problem("type", event.get("type"), TYPE_LENGTH),
        None
        if epoch(created) is not None
        else _wrong("created", created, "a Unix time in seconds from 1970 to 9999"),
        None if isinstance(livemode, bool) else _wrong("livemode", livemode, "true or false"),
        _data_problem(event.get("data")),
    ]
    return [problem for problem in found if problem]


def _data_problem(data: object) -> str | None:
    if not isinstance(data, dict):
        return _wrong("data", data, "an object")
    if not isinstance(data.get("object"), dict):
        return _wrong("data.object", data.get("object"), "a Stripe object")
    return None


def _text_problem(name: str, value: object, limit: int) -> str | None:
    if not isinstance(value, str) or not value:
        return _wrong(name, value, "a non-empty string")
    if len(value) > limit:
        return f"{name} is {len(value)} characters long, longer than the {limit} the database holds"
    return None


def _wrong(name: str, value: object, expected: str) -> str:
    if value is None:
        return f"{name} is missing"
    return f"{name} must be {expected}, got {stripe_store.shown(value)}"


def _json_kind(value: object) -> str:
    names = {list: "array", str: "string", int: "number", float: "number", bool: "true/false"}
    return names.get(type(value), "null")


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
        stripe_id=str(event["id"]),
        livemode=bool(event["livemode"]),
        type=str(event["type"]),
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
    """Store the object the event carries, once; returns the event's status (or "skipped").

    Never raises for anything the event's object causes: the event is marked failed and the
    caller goes on with the next. Only a database that cannot even record that gets through."""
    try:
        return _process(pk, api)
    except PROCESSING_ERRORS as error:
        _failed(pk, error)
    except Exception as error:
        # The one catch-all of Stripe processing, on purpose: a worker must not jam. Whatever
        # else one event runs into (a shape no check foresaw, a bug, the database refusing a
        # value), re-raising would leave it "received" and stop every event queued behind it,
        # on every retry. Its transaction is already rolled back; it is marked failed with the
        # reason and the traceback logged (the event's id and type only, never its body).
        logger.exception("Stripe event %s failed with an unexpected error", _name(pk))
        _failed(pk, error)
    return str(StripeEvent.Status.FAILED)


def process_pending(livemode: bool, api: stripe.StripeClient | None) -> dict[int, str]:
    """Every event waiting or failed (fewer than MAX_ATTEMPTS times), oldest first: pk -> status."""
    return {pk: process_event(pk, api) for pk in pending(livemode)}


def _name(pk: int) -> str:
    found = StripeEvent.objects.filter(pk=pk).values_list("stripe_id", "type").first()
    return f"{found[0]} ({found[1]})" if found else f"#{pk}"


def _process(pk: int, api: stripe.StripeClient | None) -> str:
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


def _apply(event: StripeEvent, api: stripe.StripeClient | None) -> str:
    payload = json.loads(event.body)
    obj = payload["data"]["object"]
    check_object(event.type, obj.get("object"))
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


def check_object(event_type: str, kind: object) -> None:
    """Refuse an object of another kind than the event's type names, so that an event never
    stores what it does not announce."""
    expected = EVENT_OBJECTS.get(event_type.rpartition(".")[0])
    if kind == expected or (expected is None and not stripe_store.stores(str(kind))):
        return
    found = f"a Stripe {kind}" if isinstance(kind, str) and kind else "an object of no kind"
    named = f"a Stripe {expected}" if expected else "none of the objects FounderOps stores"
    raise WrongObject(
        f"the event's type {event_type} names {named}, but it carries {found}: refused"
    )


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
