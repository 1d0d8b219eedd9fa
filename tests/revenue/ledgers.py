"""Small hand-built ledgers for the engine's tests: amounts in cents, dates as ISO strings."""

from __future__ import annotations

from calendar import monthrange
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Literal

from founderops.revenue.billing import (
    DiscountDuration,
    FailedPayment,
    FxRate,
    Interval,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Ledger,
    Refund,
    Subscription,
    cycle,
)
from founderops.revenue.engine import Result


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day of the month `months` later, clamped to the month's last day (Stripe)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, monthrange(year, month)[1]))


def after(moment: datetime, interval: Interval, periods: int) -> datetime:
    """`periods` intervals after `moment`: months and years by the calendar, weeks and days
    by the day."""
    every = cycle(interval)
    if every.unit in ("month", "year"):
        return add_months(moment, periods * int(every.months))
    return moment + timedelta(days=periods * every.count * (7 if every.unit == "week" else 1))


class Books:
    """Builds a Ledger invoice by invoice; subscriptions appear as invoices name them."""

    def __init__(self, first: str = "2025-01", last: str = "2025-06") -> None:
        self.ledger = Ledger(
            first_month=date.fromisoformat(f"{first}-01"),
            last_month=date.fromisoformat(f"{last}-01"),
        )

    def bill(
        self,
        customer: str,
        start: str,
        amount: int,
        *,
        count: int = 1,
        interval: Interval = "month",
        sub: str | None = None,
        discount: int = 0,
        duration: DiscountDuration | None = None,
        tax: int = 0,
        trial: bool = False,
        status: InvoiceStatus = "paid",
        currency: str = "USD",
        extra: tuple[int, ...] = (),
    ) -> list[Invoice]:
        """`count` consecutive invoices of one line (`amount` = unit price) from `start`;
        `extra` adds more lines of the given amounts to each (negative: a credit line)."""
        sub_id = sub or f"sub_{customer}_{len(self.ledger.subscriptions) + 1}"
        self._subscription(sub_id, customer, currency, at(start))
        made = []
        for k in range(count):
            begin, end = after(at(start), interval, k), after(at(start), interval, k + 1)
            lines = [InvoiceLine("plan", interval, amount, 1, discount, duration, tax, trial)]
            lines += [InvoiceLine("extra", interval, a, 1, 0, None, 0) for a in extra]
            invoice = Invoice(
                f"in_{len(self.ledger.invoices) + 1}",
                customer,
                sub_id,
                currency,
                begin,
                end,
                lines,
                status,
            )
            self.ledger.invoices.append(invoice)
            made.append(invoice)
        return made

    def _subscription(self, sub_id: str, customer: str, currency: str, start: datetime) -> None:
        if customer not in self.ledger.customers:
            self.ledger.customers.append(customer)
        if sub_id not in self.ledger.subscriptions:
            self.ledger.subscriptions[sub_id] = Subscription(sub_id, customer, currency, start)

    def end(self, sub: str, when: str, *, canceled: str | None = None) -> None:
        record = self.ledger.subscriptions[sub]
        record.ended_at = at(when)
        record.canceled_at = at(canceled or when)

    def void(self, invoice: Invoice, when: str) -> None:
        invoice.status, invoice.voided_at = "void", at(when)

    def refund(self, invoice: Invoice, amount: int, when: str) -> None:
        self.ledger.refunds.append(Refund(invoice.id, amount, 0, at(when)))

    def fail(self, invoice: Invoice, when: str) -> None:
        self.ledger.failed_payments.append(FailedPayment(invoice.id, at(when)))

    def rate(self, currency: str, day: str, usd: str) -> None:
        self.ledger.rates.append(FxRate(currency, date.fromisoformat(day), Fraction(usd)))


Column = Literal["start", "new", "expansion", "reactivation", "contraction", "churn", "fx", "end"]


def dollars(result: Result, customer: str) -> list[str]:
    """The customer's MRR at each month's end, in dollars with two decimals."""
    index = result.customers.index(customer)
    return [f"{float(v) / 100:.2f}" for v in result.month_end(index)]


def column(result: Result, name: Column) -> list[str]:
    """One column of the movement table, in dollars with two decimals."""
    values = []
    for month in result.months:
        value = getattr(month, name) if name in ("start", "end", "fx") else month.moves[name]
        values.append(f"{float(value) / 100:.2f}")
    return values
