"""The engine's own billing records, shaped like what a Stripe sync stores.

Money is in integer minor units (cents) of the record's currency; FX rates are exact fractions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from typing import Literal

Interval = Literal["month", "quarter", "year"]
DiscountDuration = Literal["forever", "repeating"]
InvoiceStatus = Literal["paid", "open", "void"]

MONTHS_IN: dict[str, int] = {"month": 1, "quarter": 3, "year": 12}


class RevenueInputError(ValueError):
    """Input that cannot be turned into trustworthy numbers; the message says what and where."""


@dataclass(frozen=True)
class Coupon:
    percent_off: int
    duration: DiscountDuration
    # For "repeating": how many invoices get the discount (the fixture's "K months").
    invoices: int | None = None

    def applies_to(self, invoice_number: int) -> bool:
        """Whether the subscription's `invoice_number`-th invoice (1-based) is discounted."""
        return self.invoices is None or invoice_number <= self.invoices


@dataclass(frozen=True)
class InvoiceLine:
    plan: str
    interval: Interval
    unit_amount: int
    quantity: int
    discount: int
    discount_duration: DiscountDuration | None
    tax: int
    trial: bool = False

    @property
    def gross(self) -> int:
        return self.unit_amount * self.quantity

    @property
    def net(self) -> int:
        return self.gross - self.discount


@dataclass
class Invoice:
    id: str
    customer: str
    subscription: str
    currency: str
    period_start: datetime
    period_end: datetime
    lines: list[InvoiceLine]
    status: InvoiceStatus = "paid"
    voided_at: datetime | None = None

    @property
    def net(self) -> int:
        return sum(line.net for line in self.lines)


@dataclass
class Subscription:
    id: str
    customer: str
    currency: str
    started_at: datetime
    ended_at: datetime | None = None
    canceled_at: datetime | None = None
    cancel_at_period_end: bool = False
    past_due: bool = False


@dataclass(frozen=True)
class Refund:
    invoice: str
    amount: int
    tax: int
    created_at: datetime


@dataclass(frozen=True)
class FailedPayment:
    invoice: str
    created_at: datetime


@dataclass(frozen=True)
class FxRate:
    """One unit of `currency` is worth `usd` US dollars from `day` on."""

    currency: str
    day: date
    usd: Fraction


@dataclass
class Ledger:
    customers: list[str] = field(default_factory=list)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    invoices: list[Invoice] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    failed_payments: list[FailedPayment] = field(default_factory=list)
    rates: list[FxRate] = field(default_factory=list)
    first_month: date = date(1970, 1, 1)
    last_month: date = date(1970, 1, 1)
