"""`founderops bench ledger`: the revenue pages' path from the database, on a large history.

The history is the demo's own generator at scale: `demo_revenue`'s seeded random process
(trials, monthly and yearly plans, coupons, upgrades with prorations, failed payments recovered
or written off, refunds, churn, comebacks, a tenth of customers in euros) for N customers
signing up evenly over M months, written as Stripe's JSON by `demo_stripe`. Storing 100,000s
of objects one by one through `stripe_store` (a dozen queries each) would take the bench an
hour, so `store_objects` bulk-inserts the same rows the store would write for those objects;
a test loads a small history both ways and checks that the ledger read back is the same.

Then it times, each with its peak memory: `ledger_from_db`, `from_ledger`, `engine.compute`,
a whole `reports.revenue.snapshot`, and the cockpit's /revenue/ page twice (the first request
computes, the second finds the snapshot cached).
"""

from __future__ import annotations

import gc
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from django.urls import reverse

from founderops.cli import demo_billing, demo_revenue, demo_stripe
from founderops.cli.revenue_bench import Peak, rss_mb, timed
from founderops.core import clock
from founderops.reports import revenue, revenue_cache
from founderops.revenue import engine, ledger
from founderops.revenue.book import day_number, from_ledger
from founderops.revenue.models import (
    BillingCustomer,
    Charge,
    Coupon,
    Discount,
    Invoice,
    InvoiceLine,
    Price,
    Product,
    Refund,
    Subscription,
    SubscriptionItem,
)
from founderops.revenue.stripe_store import amount, currency, moment, ref, text

Obj = dict[str, Any]
T = TypeVar("T")
# Customers generated and stored at a time: keeps the JSON of only one chunk in memory.
CHUNK = 2000
BATCH = 2000
DAYS_IN_MONTH = 30.44


@dataclass(frozen=True)
class Shape:
    customers: int = 20_000
    months: int = 24
    seed: int = 11


# --- generating -------------------------------------------------------------------------------


def people(shape: Shape, now: datetime, rng: random.Random) -> Iterator[demo_revenue.Person]:
    """Sign-ups spread evenly over the months (the last two hours excepted, like the demo)."""
    span = timedelta(days=shape.months * DAYS_IN_MONTH) - timedelta(hours=2)
    for number in range(1, shape.customers + 1):
        since = (now - span + span * rng.random()).replace(microsecond=0)
        yield demo_revenue.random_person(rng, number, since)


def chunks(shape: Shape, now: datetime) -> Iterator[dict[str, list[Obj]]]:
    """Stripe's objects, CHUNK customers at a time, ids numbered across chunks."""
    rng = random.Random(shape.seed)
    writer = demo_stripe.Writer(now)
    yield demo_stripe.stripe_objects(demo_revenue.History(now))  # the catalogue
    batch: list[demo_revenue.Person] = []
    for person in people(shape, now, rng):
        batch.append(person)
        if len(batch) == CHUNK:
            yield _write(writer, batch, rng, now)
            batch = []
    if batch:
        yield _write(writer, batch, rng, now)


def _write(
    writer: demo_stripe.Writer,
    batch: list[demo_revenue.Person],
    rng: random.Random,
    now: datetime,
) -> dict[str, list[Obj]]:
    writer.out.clear()
    lives = [life for person in batch for life in demo_revenue.random_lives(rng, person, now)]
    for person in batch:
        writer.add("customers", demo_stripe._customer(person))
    for life in sorted(lives, key=lambda item: (item.periods[0].start, item.customer)):
        demo_stripe.Subscriber(writer, life).write()
    return dict(writer.out)


def rates(shape: Shape, now: datetime) -> list[tuple[Any, str]]:
    first = (now - timedelta(days=shape.months * DAYS_IN_MONTH + 40)).date()
    return demo_revenue.eur_rates(random.Random(shape.seed), first, now.date())


# --- storing ----------------------------------------------------------------------------------


def _at(value: object) -> datetime | None:
    return moment(value, "a generated timestamp")


def _units(value: object, default: int = 0) -> int:
    return amount(value, "a generated amount", default)


@dataclass
class Store:
    """Bulk inserts of the rows `stripe_store` writes for these objects (live mode, a backfill
    at `now`), with the ids already stored mapped to their primary keys."""

    now: datetime
    keys: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def version(self) -> int:
        return int(self.now.timestamp())

    def common(self, obj: Obj) -> dict[str, Any]:
        return {
            "livemode": True,
            "stripe_id": ref(obj),
            "created": _at(obj.get("created")),
            "version": self.version,
            "raw": obj,
            "synced_at": self.now,
        }

    def key(self, kind: str, value: object) -> int | None:
        return self.keys.get(kind, {}).get(ref(value)) if value else None

    def parent(self, kind: str, value: object) -> int:
        return self.keys[kind][ref(value)]

    def insert(self, kind: str, rows: list[Any]) -> None:
        model = type(rows[0]) if rows else None
        if model is None:
            return
        made = model._default_manager.bulk_create(rows, batch_size=BATCH)
        self.keys.setdefault(kind, {}).update({row.stripe_id: row.pk for row in made})


def store_objects(objects: dict[str, list[Obj]], store: Store) -> None:
    """One chunk of Stripe's objects, in the order their references need."""
    with transaction.atomic():
        store.insert("product", [_product(o, store) for o in objects.get("products", [])])
        store.insert("price", [_price(o, store) for o in objects.get("prices", [])])
        store.insert("coupon", [_coupon(o, store) for o in objects.get("coupons", [])])
        store.insert("customer", [_customer(o, store) for o in objects.get("customers", [])])
        subscriptions = objects.get("subscriptions", [])
        store.insert("subscription", [_subscription(o, store) for o in subscriptions])
        SubscriptionItem.objects.bulk_create(_items(subscriptions, store), batch_size=BATCH)
        store.insert("discount", _discounts(objects, store))
        invoices = objects.get("invoices", [])
        store.insert("invoice", [_invoice(o, store) for o in invoices])
        InvoiceLine.objects.bulk_create(_lines(invoices, store), batch_size=BATCH)
        store.insert("charge", [_charge(o, store) for o in objects.get("charges", [])])
        store.insert("refund", [_refund(o, store) for o in objects.get("refunds", [])])


def _product(obj: Obj, store: Store) -> Product:
    return Product(**store.common(obj), name=text(obj.get("name"), 255), active=True)


def _price(obj: Obj, store: Store) -> Price:
    recurring = obj.get("recurring") or {}
    return Price(
        **store.common(obj),
        product_id=store.key("product", obj.get("product")),
        currency=currency(obj.get("currency")),
        unit_amount=_units(obj.get("unit_amount")),
        type=text(obj.get("type"), 20),
        interval=text(recurring.get("interval"), 10),
        interval_count=int(recurring.get("interval_count") or 1),
        nickname=text(obj.get("nickname"), 255),
        lookup_key=text(obj.get("lookup_key"), 255),
        active=bool(obj.get("active", True)),
    )


def _coupon(obj: Obj, store: Store) -> Coupon:
    return Coupon(
        **store.common(obj),
        name=text(obj.get("name"), 255),
        percent_off=obj.get("percent_off"),
        duration=text(obj.get("duration"), 10),
        duration_in_months=obj.get("duration_in_months"),
        valid=bool(obj.get("valid", True)),
    )


def _customer(obj: Obj, store: Store) -> BillingCustomer:
    return BillingCustomer(
        **store.common(obj),
        email=text(obj.get("email"), 254),
        name=text(obj.get("name"), 255),
        currency=currency(obj.get("currency")),
    )


def _subscription(obj: Obj, store: Store) -> Subscription:
    return Subscription(
        **store.common(obj),
        customer_id=store.key("customer", obj.get("customer")),
        status=text(obj.get("status"), 30),
        currency=currency(obj.get("currency")),
        start_date=_at(obj.get("start_date")),
        trial_start=_at(obj.get("trial_start")),
        trial_end=_at(obj.get("trial_end")),
        current_period_start=_at(obj.get("current_period_start")),
        current_period_end=_at(obj.get("current_period_end")),
        cancel_at=_at(obj.get("cancel_at")),
        cancel_at_period_end=bool(obj.get("cancel_at_period_end")),
        canceled_at=_at(obj.get("canceled_at")),
        ended_at=_at(obj.get("ended_at")),
    )


def _items(subscriptions: list[Obj], store: Store) -> list[SubscriptionItem]:
    return [
        SubscriptionItem(
            subscription_id=store.parent("subscription", sub),
            stripe_id=ref(item),
            price_id=store.key("price", item.get("price")),
            quantity=_units(item.get("quantity"), 1),
            current_period_start=_at(item.get("current_period_start")),
            current_period_end=_at(item.get("current_period_end")),
        )
        for sub in subscriptions
        for item in sub["items"]["data"]
    ]


def _discounts(objects: dict[str, list[Obj]], store: Store) -> list[Discount]:
    found: dict[str, Obj] = {}
    for kind in ("subscriptions", "invoices"):
        for obj in objects.get(kind, []):
            found.update({d["id"]: d for d in obj.get("discounts") or []})
    return [
        Discount(
            **store.common(d),
            coupon_id=store.key("coupon", d["source"]["coupon"]),
            customer_id=store.key("customer", d.get("customer")),
            subscription_stripe_id=ref(d.get("subscription")),
            start=_at(d.get("start")),
            end=_at(d.get("end")),
        )
        for d in found.values()
    ]


def _invoice(obj: Obj, store: Store) -> Invoice:
    transitions = obj.get("status_transitions") or {}
    return Invoice(
        **store.common(obj),
        customer_id=store.key("customer", obj.get("customer")),
        subscription_id=store.key("subscription", obj.get("subscription")),
        status=text(obj.get("status"), 20),
        number=text(obj.get("number"), 100),
        billing_reason=text(obj.get("billing_reason"), 40),
        currency=currency(obj.get("currency")),
        period_start=_at(obj.get("period_start")),
        period_end=_at(obj.get("period_end")),
        subtotal=_units(obj.get("subtotal")),
        tax=_units(obj.get("tax")),
        total=_units(obj.get("total")),
        amount_due=_units(obj.get("amount_due")),
        amount_paid=_units(obj.get("amount_paid")),
        amount_remaining=_units(obj.get("amount_remaining")),
        attempt_count=_units(obj.get("attempt_count")),
        finalized_at=_at(transitions.get("finalized_at")),
        paid_at=_at(transitions.get("paid_at")),
        voided_at=_at(transitions.get("voided_at")),
        marked_uncollectible_at=_at(transitions.get("marked_uncollectible_at")),
    )


def _lines(invoices: list[Obj], store: Store) -> list[InvoiceLine]:
    return [
        _line(store.parent("invoice", obj), line, store) for obj in invoices for line in _of(obj)
    ]


def _of(invoice: Obj) -> list[Obj]:
    return list(invoice["lines"]["data"])


def _line(invoice: int, line: Obj, store: Store) -> InvoiceLine:
    discounts = [
        {"discount": ref(d.get("discount")), "amount": _units(d.get("amount"))}
        for d in line.get("discount_amounts") or []
    ]
    taxes = line.get("tax_amounts") or []
    period = line.get("period") or {}
    return InvoiceLine(
        invoice_id=invoice,
        stripe_id=text(line.get("id"), 255),
        kind=InvoiceLine.Kind.SUBSCRIPTION,
        subscription_stripe_id=ref(line.get("subscription")),
        subscription_item_stripe_id=ref(line.get("subscription_item")),
        price_id=store.key("price", line.get("price")),
        description=text(line.get("description"), 2000),
        currency=currency(line.get("currency")),
        amount=_units(line.get("amount")),
        quantity=_units(line.get("quantity"), 1),
        period_start=_at(period.get("start")),
        period_end=_at(period.get("end")),
        proration=bool(line.get("proration")),
        discount_amount=sum(d["amount"] for d in discounts),
        discounts=discounts,
        tax_exclusive=sum(_units(t["amount"]) for t in taxes if not t.get("inclusive")),
        tax_inclusive=sum(_units(t["amount"]) for t in taxes if t.get("inclusive")),
    )


def _charge(obj: Obj, store: Store) -> Charge:
    failed = obj.get("status") == "failed"
    outcome = obj.get("outcome") or {}
    return Charge(
        **store.common(obj),
        customer_id=store.key("customer", obj.get("customer")),
        invoice_id=store.key("invoice", obj.get("invoice")),
        payment_intent=ref(obj.get("payment_intent")),
        amount=_units(obj.get("amount")),
        amount_refunded=_units(obj.get("amount_refunded")),
        currency=currency(obj.get("currency")),
        status=text(obj.get("status"), 20),
        paid=bool(obj.get("paid")),
        refunded=bool(obj.get("refunded")),
        failure_code=text(obj.get("failure_code"), 100),
        failure_message=text(obj.get("failure_message") or outcome.get("seller_message"), 500)
        if failed
        else "",
    )


def _refund(obj: Obj, store: Store) -> Refund:
    return Refund(
        **store.common(obj),
        charge_id=store.key("charge", obj.get("charge")),
        amount=_units(obj.get("amount")),
        currency=currency(obj.get("currency")),
        status=text(obj.get("status"), 20),
        reason=text(obj.get("reason"), 60),
    )


def load(shape: Shape, now: datetime) -> dict[str, int]:
    """Generate and store the whole history; returns how many rows of each kind."""
    with clock.replaying(now):
        demo_billing.import_rates(rates(shape, now))
    store = Store(now)
    for objects in chunks(shape, now):
        store_objects(objects, store)
    return {kind: len(ids) for kind, ids in store.keys.items()}


# --- measuring --------------------------------------------------------------------------------


def _stage(work: Callable[[], T]) -> tuple[T, dict[str, float]]:
    gc.collect()
    before = rss_mb()
    peak = Peak()
    with peak.watching():
        out, seconds = timed(work)
    return out, {"seconds": round(seconds, 3), "rss_before_mb": before, "peak_rss_mb": peak.mb}


def run(shape: Shape) -> dict[str, object]:
    now = clock.now().replace(microsecond=0)
    rows, load_s = timed(lambda: load(shape, now))
    as_of = revenue.last_full_day(now)
    stages = _stages(as_of)
    revenue_cache.clear()
    _, whole = _stage(lambda: revenue.snapshot(True, as_of=as_of))
    invoices = Invoice.objects.filter(livemode=True).count()
    return {
        "customers": shape.customers,
        "months": shape.months,
        "seed": shape.seed,
        "rows": rows,
        "invoices": invoices,
        "invoice_lines": InvoiceLine.objects.count(),
        "load_s": round(load_s, 1),
        **stages,
        "ledger_s_per_100k_invoices": round(
            stages["ledger_from_db"]["seconds"] * 100_000 / max(invoices, 1), 3
        ),
        "snapshot": whole,
        "page": page_times(),
    }


def _stages(as_of: date) -> dict[str, dict[str, float]]:
    """The snapshot's steps one by one (what they make is dropped on return)."""
    records, read = _stage(lambda: ledger.ledger_from_db(True, through=as_of))
    book, columns = _stage(lambda: from_ledger(records))
    cut = replace(book, days=day_number(as_of) - book.first + 1)
    _, computed = _stage(lambda: engine.compute(cut, engine.PROFILES[revenue.DEFAULT_PROFILE]))
    return {"ledger_from_db": read, "from_ledger": columns, "compute": computed}


def page_times() -> dict[str, float]:
    """/revenue/ as a signed-in founder: the first request computes, the second is cached."""
    user, _ = get_user_model().objects.get_or_create(
        username="bench-revenue", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    url = reverse("web:revenue") + "?mode=live"
    revenue_cache.clear()
    out = {}
    for name in ("first_s", "cached_s"):
        response, seconds = timed(lambda: client.get(url))
        if response.status_code != 200:
            raise RuntimeError(f"/revenue/ answered {response.status_code}")
        out[name] = round(seconds, 3)
    return out
