"""The revenue snapshots kept between requests, keyed on what makes them stale.

A snapshot is a pure function of one mode's stored billing, the day it runs through and the
revenue settings, so it is kept under exactly that key and recomputed only when the key moves:

- per billing table the ledger reads (and invoice payments, which relink charges), the mode's
  row count, highest id, newest `synced_at`, the sums of the snapshot versions and ranks, and
  how many rows are deleted or wait for a fetch. Every write of `stripe_store`, the CSV import
  and reconciliation sets `synced_at`; a newer Stripe snapshot raises its row's version (or
  rank) even within the same clock tick; the counts catch a row removed, and a row marked
  deleted or fetched by a bulk update;
- the FX rates themselves (a short table without a write time: an import may rewrite a day's
  rate in place), as a digest;
- the day (`as_of`), the knowledge cut-off (`known_at`: a briefing's window end) and the
  settings the figures use (the gross margin).

Reading the key costs a few aggregate queries; a stale entry can never be served, whichever
process made the change, so several web processes need no messages between them: each keeps
its own entries and recomputes once after a change. Process memory, not Django's cache
framework: a snapshot of a large history is hundreds of MB of Python objects, which any shared
backend (and even the local-memory one) would pickle and unpickle on every request, about what
computing it again costs. Only the newest entry per mode, day and settings is kept (older ones
are stale by construction), at most MAX_ENTRIES in all.

What a page also reads from other tables or the clock (the customers' names, who is leaving)
is not kept here: `reports.revenue.Snapshot.view` computes it per request; the churn-risk
model, which also reads support tickets, is kept with the snapshot only while the ticket log
read for the request is the same (`reports.revenue.risk_model`).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from datetime import date, datetime
from typing import Any

from django.db.models import Count, Max, Q, Sum

from founderops.revenue.models import (
    BillingCustomer,
    Charge,
    Coupon,
    Discount,
    FxRate,
    Invoice,
    InvoicePayment,
    Price,
    Product,
    Refund,
    StripeObject,
    Subscription,
)

MAX_ENTRIES = 4
# Invoice lines and subscription items are replaced with their invoice or subscription, whose
# `synced_at` moves with them.
WATCHED: tuple[type[StripeObject], ...] = (
    BillingCustomer,
    Product,
    Price,
    Coupon,
    Discount,
    Subscription,
    Invoice,
    InvoicePayment,
    Charge,
    Refund,
)

Family = dict[str, Any]
Key = tuple[Any, ...]
_entries: OrderedDict[Key, Family] = OrderedDict()
_lock = threading.Lock()
# How many times an entry was made (the tests read it).
misses = 0


def state(livemode: bool) -> tuple[object, ...]:
    """What the stored billing of one mode looks like now, compared rather than read."""
    tables = tuple(_table(model, livemode) for model in WATCHED)
    return (*tables, rates_digest())


Table = tuple[int, int | None, datetime | None, int | None, int | None, int, int]


def _table(model: type[StripeObject], livemode: bool) -> Table:
    row = model._default_manager.filter(livemode=livemode).aggregate(
        rows=Count("pk"),
        last_id=Max("pk"),
        newest=Max("synced_at"),
        versions=Sum("version"),
        ranks=Sum("rank"),
        deleted=Count("pk", filter=Q(deleted=True)),
        waiting=Count("pk", filter=Q(needs_fetch=True)),
    )
    return (
        row["rows"],
        row["last_id"],
        row["newest"],
        row["versions"],
        row["ranks"],
        row["deleted"],
        row["waiting"],
    )


def rates_digest() -> str:
    digest = hashlib.blake2b(digest_size=16)
    for currency, day, rate in FxRate.objects.order_by("currency", "day").values_list(
        "currency", "day", "rate"
    ):
        digest.update(f"{currency} {day} {rate}\n".encode())
    return digest.hexdigest()


def family(livemode: bool, as_of: date, given: tuple[object, ...]) -> tuple[Key, Family]:
    """The snapshots (by profile) of one mode through `as_of` under what else they are given
    (the knowledge cut-off `known_at`, the gross margin), for the billing as stored now: the
    kept ones, or a new empty family that replaces the stale one."""
    global misses
    scope = (livemode, as_of, given)
    key = (*scope, state(livemode))
    with _lock:
        found = _entries.get(key)
        if found is not None:
            _entries.move_to_end(key)
            return key, found
        for stale in [k for k in _entries if k[:3] == scope]:
            del _entries[stale]
        misses += 1
        made: Family = {}
        _entries[key] = made
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
        return key, made


def confirm(key: Key) -> None:
    """After the first read of the billing for `key`: keep the entry only if nothing changed
    meanwhile. Otherwise what was read may be newer than the key says, and the key could come
    back (a row added, then removed); the next request reads again."""
    livemode = key[0]
    if state(livemode) != key[3]:
        with _lock:
            _entries.pop(key, None)


def clear() -> None:
    with _lock:
        _entries.clear()
