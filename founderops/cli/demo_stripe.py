"""Inkwell's billing history as Stripe's JSON, served to the real backfill.

`stripe_objects` writes the lives `demo_revenue` planned as the objects Stripe's list
endpoints return (in the API's older shape, which `revenue.stripe_store` reads: the invoice
names its subscription, a line its price, a charge its invoice). `load` answers the official
SDK's requests from them through the HTTP seam (`core.http.set_transport`) and runs
`revenue.sync.backfill`, the same code `founderops stripe sync` runs against Stripe: the demo
proves the sync, and its numbers are whatever the product makes of what Stripe would send.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from founderops.cli.demo_revenue import (
    CHARGE_DELAY,
    COUPONS,
    ID,
    PLANS,
    RETRY_DAYS,
    VAT,
    WRITE_OFF_DAYS,
    History,
    Life,
    Period,
    Person,
    PlanPrice,
    add_months,
)

Obj = dict[str, Any]
HOUR = timedelta(hours=1)
ONE = "1 \N{MULTIPLICATION SIGN}"


def ts(moment: datetime) -> int:
    return int(moment.timestamp())


def price_id(plan: str, interval: str, currency: str) -> str:
    return f"price_{ID}_{plan}_{interval}_{currency}"


@dataclass
class Writer:
    """Collects objects by list endpoint and numbers ids as Stripe hands them out."""

    now: datetime
    out: dict[str, list[Obj]] = field(default_factory=lambda: defaultdict(list))
    counters: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def new_id(self, prefix: str) -> str:
        self.counters[prefix] += 1
        return f"{prefix}_{ID}{self.counters[prefix]:06d}"

    def add(self, resource: str, obj: Obj) -> Obj:
        """Keep `obj` itself: a later change (a refund on its charge) shows in the listing."""
        obj["livemode"] = True
        self.out[resource].append(obj)
        return obj


def stripe_objects(history: History) -> dict[str, list[Obj]]:
    """Each list endpoint's objects, by its name in the URL (customers, invoices, ...)."""
    writer = Writer(history.now)
    first = min((p.since for p in history.people), default=history.now)
    _catalogue(writer, first - timedelta(days=30))
    for person in history.people:
        writer.add("customers", _customer(person))
    for life in sorted(history.lives, key=lambda item: (item.periods[0].start, item.customer)):
        Subscriber(writer, life).write()
    return dict(writer.out)


# --- the catalogue and the customers --------------------------------------------------------


def _catalogue(writer: Writer, since: datetime) -> None:
    for plan in PLANS.values():
        product = f"prod_{ID}_{plan.key}"
        writer.add(
            "products",
            {
                "id": product,
                "object": "product",
                "name": f"Inkwell {plan.name}",
                "active": True,
                "created": ts(since),
            },
        )
        for interval in ("month", "year"):
            for currency in ("usd", "eur"):
                writer.add("prices", _price(plan, interval, currency, product, since))
    for coupon in COUPONS.values():
        writer.add(
            "coupons",
            {
                "id": coupon.id,
                "object": "coupon",
                "name": coupon.name,
                "percent_off": coupon.percent_off,
                "amount_off": None,
                "currency": None,
                "duration": coupon.duration,
                "duration_in_months": coupon.months,
                "valid": True,
                "created": ts(since),
            },
        )


def _price(plan: PlanPrice, interval: str, currency: str, product: str, since: datetime) -> Obj:
    return {
        "id": price_id(plan.key, interval, currency),
        "object": "price",
        "livemode": True,
        "product": product,
        "currency": currency,
        "unit_amount": plan.amount(interval, currency),
        "type": "recurring",
        "recurring": {"interval": interval, "interval_count": 1, "usage_type": "licensed"},
        "nickname": f"{plan.name} {'monthly' if interval == 'month' else 'yearly'}",
        "lookup_key": f"{plan.key}_{interval}_{currency}",
        "active": True,
        "created": ts(since),
    }


def _customer(person: Person) -> Obj:
    return {
        "id": person.key,
        "object": "customer",
        "email": person.email,
        "name": person.name,
        "currency": person.currency,
        "delinquent": False,
        "discount": None,
        "created": ts(person.since),
    }


# --- one subscription: its invoices, charges and refunds ----------------------------------------


@dataclass
class Bill:
    """What an invoice adds up to."""

    lines: list[Obj]
    subtotal: int
    discount: int
    tax: int

    @property
    def total(self) -> int:
        return self.subtotal - self.discount + self.tax


@dataclass
class Subscriber:
    writer: Writer
    life: Life
    sub: str = ""
    item: str = ""
    discount: Obj | None = None
    paid_periods: int = 0

    def write(self) -> None:
        self.sub, self.item = self.writer.new_id("sub"), self.writer.new_id("si")
        self.discount = self._discount()
        for number, period in enumerate(self.life.periods):
            self._period(period, first=number == 0)
        self.writer.add("subscriptions", self._subscription())

    # The subscription as it stands now.

    def _subscription(self) -> Obj:
        first, last = self.life.periods[0], self.life.periods[-1]
        ended = self._ended()
        trial_end = first.end if first.trial else None
        return {
            "id": self.sub,
            "object": "subscription",
            "customer": self.life.customer,
            "status": self._status(ended),
            "currency": self.life.currency,
            "created": ts(first.start),
            "start_date": ts(first.start),
            "trial_start": ts(first.start) if first.trial else None,
            "trial_end": ts(trial_end) if trial_end else None,
            "current_period_start": ts(last.start),
            "current_period_end": ts(last.end),
            "cancel_at_period_end": self.life.cancel_at_period_end and ended is None,
            "cancel_at": ts(last.end) if self.life.cancel_at_period_end else None,
            "canceled_at": ts(self.life.canceled_at) if self.life.canceled_at else None,
            "ended_at": ts(ended) if ended else None,
            "schedule": None,
            "discounts": [self.discount] if self._discount_running() else [],
            "items": _listing(
                [self._item(last)], f"/v1/subscription_items?subscription={self.sub}"
            ),
        }

    def _item(self, period: Period) -> Obj:
        plan = period.upgrade[1] if period.upgrade else period.plan
        return {
            "id": self.item,
            "object": "subscription_item",
            "subscription": self.sub,
            "price": price_id(plan, period.interval, self.life.currency),
            "quantity": 1,
            "current_period_start": ts(period.start),
            "current_period_end": ts(period.end),
        }

    def _ended(self) -> datetime | None:
        last, now = self.life.periods[-1], self.writer.now
        if last.ends_early:
            return last.ends_early
        if last.lost:
            written_off = last.start + timedelta(days=WRITE_OFF_DAYS)
            return written_off if written_off <= now else None
        if self.life.cancel_at_period_end and last.end <= now:
            return last.end
        return None

    def _status(self, ended: datetime | None) -> str:
        last = self.life.periods[-1]
        if ended is not None:
            return "canceled"
        if self._unpaid(last):
            return "past_due"
        return "trialing" if last.trial else "active"

    def _unpaid(self, period: Period) -> bool:
        return period.lost or (period.failures > 0 and self._paid_at(period) > self.writer.now)

    # Discounts.

    def _discount(self) -> Obj | None:
        if self.life.coupon is None:
            return None
        spec = COUPONS[self.life.coupon]
        start = next((p.start for p in self.life.periods if not p.trial), None)
        if start is None:
            return None  # a trial that never converted: the coupon was never redeemed
        return {
            "id": self.writer.new_id("di"),
            "object": "discount",
            # The newer shape names the coupon, whose full object the catalogue listed.
            "source": {"type": "coupon", "coupon": spec.id},
            "customer": self.life.customer,
            "subscription": self.sub,
            "start": ts(start),
            "end": ts(add_months(start, spec.months)) if spec.months else None,
        }

    def _discounted(self, paid_number: int) -> int:
        """The coupon's percent on this paid invoice (counted from 0), or 0."""
        if self.life.coupon is None:
            return 0
        spec = COUPONS[self.life.coupon]
        if spec.months is not None and paid_number >= spec.months:
            return 0
        return spec.percent_off

    def _discount_running(self) -> bool:
        return self.discount is not None and self._discounted(self.paid_periods) > 0

    # Invoices.

    def _period(self, period: Period, first: bool) -> None:
        percent = 0 if period.trial else self._discounted(self.paid_periods)
        bill = self._bill([self._line(period, period.plan, period.start, period.end, percent)])
        reason = "subscription_create" if first else "subscription_cycle"
        invoice = self._invoice(bill, period.start, reason, percent > 0)
        self._collect(invoice, bill, period)
        if not period.trial:
            self.paid_periods += 1
        if period.upgrade:
            self._proration(period, *period.upgrade, percent)
        if period.ends_early and period.credit_unused:
            self._final_credit(period, period.ends_early)

    def _line(
        self,
        period: Period,
        plan: str,
        start: datetime,
        end: datetime,
        percent: int,
        amount: int | None = None,
        proration: bool = False,
    ) -> Obj:
        price = PLANS[plan].amount(period.interval, self.life.currency)
        charged = 0 if period.trial else price if amount is None else amount
        off = charged * percent // 100 if charged > 0 else 0
        tax = (charged - off) * VAT // 100 if self.life.currency == "eur" and charged > 0 else 0
        words = "Unused time on" if charged < 0 else "Remaining time on" if proration else ONE
        return {
            "id": self.writer.new_id("il"),
            "object": "line_item",
            "type": "subscription",
            "subscription": self.sub,
            "subscription_item": self.item,
            "price": price_id(plan, period.interval, self.life.currency),
            "description": f"{words} Inkwell {PLANS[plan].name}",
            "amount": charged,
            "currency": self.life.currency,
            "quantity": 1,
            "period": {"start": ts(start), "end": ts(end)},
            "proration": proration,
            "discount_amounts": [{"amount": off, "discount": self.discount["id"]}]
            if off and self.discount
            else [],
            "tax_amounts": [{"amount": tax, "inclusive": False}] if tax else [],
        }

    def _bill(self, lines: list[Obj]) -> Bill:
        return Bill(
            lines,
            sum(line["amount"] for line in lines),
            sum(d["amount"] for line in lines for d in line["discount_amounts"]),
            sum(t["amount"] for line in lines for t in line["tax_amounts"]),
        )

    def _invoice(self, bill: Bill, at: datetime, reason: str, discounted: bool) -> Obj:
        invoice_id = self.writer.new_id("in")
        return {
            "id": invoice_id,
            "object": "invoice",
            "customer": self.life.customer,
            "subscription": self.sub,
            "number": f"INK-{invoice_id[-6:]}",
            "billing_reason": reason,
            "currency": self.life.currency,
            "created": ts(at),
            "period_start": ts(at),
            "period_end": ts(at),
            "subtotal": bill.subtotal,
            "tax": bill.tax,
            "total": bill.total,
            "attempt_count": 0,
            "discounts": [self.discount] if discounted and self.discount else [],
            "lines": _listing(bill.lines, f"/v1/invoices/{invoice_id}/lines"),
        }

    def _proration(self, period: Period, at: datetime, plan: str, percent: int) -> None:
        """A mid-period change: unused time on the old plan credited, the rest charged."""
        share = (period.end - at) / (period.end - period.start)
        old = PLANS[period.plan].amount(period.interval, self.life.currency)
        new = PLANS[plan].amount(period.interval, self.life.currency)
        credit = self._line(period, period.plan, at, period.end, 0, -round(old * share), True)
        charge = self._line(period, plan, at, period.end, percent, round(new * share), True)
        bill = self._bill([credit, charge])
        invoice = self._invoice(bill, at, "subscription_update", percent > 0)
        self._settle(invoice, bill, at, at + HOUR, failures=0)

    def _final_credit(self, period: Period, at: datetime) -> None:
        """Canceled now: the unused time is credited to the customer's balance."""
        share = (period.end - at) / (period.end - period.start)
        amount = PLANS[period.plan].amount(period.interval, self.life.currency)
        credit = self._line(period, period.plan, at, period.end, 0, -round(amount * share), True)
        bill = self._bill([credit])
        self._settle(self._invoice(bill, at, "subscription_update", False), bill, at, at, 0)

    # Getting paid.

    @staticmethod
    def _attempts(at: datetime) -> list[datetime]:
        """When Stripe tries to collect: an hour after the invoice, then on each retry day."""
        return [at + CHARGE_DELAY] + [at + timedelta(days=day, hours=2) for day in RETRY_DAYS]

    def _paid_at(self, period: Period) -> datetime:
        return self._attempts(period.start)[period.failures]

    def _collect(self, invoice: Obj, bill: Bill, period: Period) -> None:
        if period.lost:
            self._write_off(invoice, bill, period)
        elif self._unpaid(period):
            self._settle(invoice, bill, period.start, None, period.failures)
        else:
            paid = self._settle(invoice, bill, period.start, self._paid_at(period), period.failures)
            if period.refund and paid is not None:
                self._refund(paid, period.refund[0], period.refund[1])

    def _settle(
        self, invoice: Obj, bill: Bill, at: datetime, paid_at: datetime | None, failures: int
    ) -> Obj | None:
        """Failed attempts, then the successful charge (none while unpaid); returns it."""
        attempts = self._attempts(at)[:failures]
        failed = [moment for moment in attempts if moment <= self.writer.now]
        for moment in failed:
            self._charge(invoice, bill.total, moment, succeeded=False)
        paid = paid_at is not None and paid_at <= self.writer.now
        charge = self._charge(invoice, bill.total, paid_at, True) if paid and paid_at else None
        self._finish(invoice, bill, at, paid_at if paid else None, len(failed) + bool(charge))
        return charge

    def _finish(
        self, invoice: Obj, bill: Bill, at: datetime, paid_at: datetime | None, attempts: int
    ) -> None:
        due = max(bill.total, 0)
        paid = paid_at is not None or due == 0
        invoice.update(
            status="paid" if paid else "open",
            amount_due=due,
            amount_paid=due if paid else 0,
            amount_remaining=0 if paid else due,
            attempt_count=attempts,
            status_transitions={
                "finalized_at": ts(at),
                "paid_at": ts(paid_at or at) if paid else None,
                "voided_at": None,
                "marked_uncollectible_at": None,
            },
        )
        self.writer.add("invoices", invoice)

    def _write_off(self, invoice: Obj, bill: Bill, period: Period) -> None:
        """Every retry failed: marked uncollectible, and the subscription ends with it."""
        marked = period.start + timedelta(days=WRITE_OFF_DAYS)
        self._settle(invoice, bill, period.start, None, 1 + len(RETRY_DAYS))
        if marked <= self.writer.now:
            invoice["status"] = "uncollectible"
            invoice["status_transitions"]["marked_uncollectible_at"] = ts(marked)

    def _charge(self, invoice: Obj, amount: int, at: datetime, succeeded: bool) -> Obj | None:
        if amount <= 0:
            return None
        return self.writer.add(
            "charges",
            {
                "id": self.writer.new_id("ch"),
                "object": "charge",
                "customer": self.life.customer,
                "invoice": invoice["id"],
                "payment_intent": f"pi_{invoice['id'].removeprefix('in_')}",
                "amount": amount,
                "amount_refunded": 0,
                "currency": self.life.currency,
                "status": "succeeded" if succeeded else "failed",
                "paid": succeeded,
                "refunded": False,
                "failure_code": None if succeeded else "card_declined",
                "failure_message": None if succeeded else "Your card was declined.",
                "outcome": {"seller_message": "Payment complete." if succeeded else "Declined"},
                "payment_method_details": {
                    "type": "card",
                    "card": {"brand": "visa", "last4": _last4(self.life.customer)},
                },
                "created": ts(at),
            },
        )

    def _refund(self, charge: Obj, at: datetime, amount: int) -> None:
        """`amount` of `charge` given back (-1: all of it)."""
        amount = charge["amount"] if amount < 0 else min(amount, charge["amount"])
        if at > self.writer.now:
            return
        charge.update(amount_refunded=amount, refunded=amount == charge["amount"])
        self.writer.add(
            "refunds",
            {
                "id": self.writer.new_id("re"),
                "object": "refund",
                "charge": charge["id"],
                "amount": amount,
                "currency": self.life.currency,
                "status": "succeeded",
                "reason": "requested_by_customer",
                "created": ts(at),
            },
        )


def _last4(customer: str) -> str:
    """A card number's last four digits, the same for a customer every time."""
    return f"{sum(ord(c) * 31**i for i, c in enumerate(customer)) % 10_000:04d}"


def _listing(data: list[Obj], url: str) -> Obj:
    return {"object": "list", "data": data, "has_more": False, "url": url}
