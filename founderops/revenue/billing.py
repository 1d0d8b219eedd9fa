"""The engine's own billing records, shaped like what a Stripe sync stores.

Money is in integer minor units (cents) of the record's currency; FX rates are exact fractions.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction
from typing import Literal

# A billing interval by name: "day", "week", "month", "quarter", "year", or a count of a unit
# ("2 weeks", "6 months", "3 years"); `cycle` reads one, `Cycle.name` writes one.
Interval = str
DiscountDuration = Literal["forever", "repeating"]
InvoiceStatus = Literal["paid", "open", "void"]

# How many of each unit a year holds. A week is 52 per year (52/12 = 4.33 weeks a month, as
# Paddle and most subscription tools count) and a day 365 (365/12 = 30.42 days a month): both
# whole numbers, so a weekly or daily price has an exact MRR in twelfths of a minor unit.
UNITS: dict[str, int] = {"day": 365, "week": 52, "month": 12, "year": 1}
_NAMED: dict[str, tuple[str, int]] = {
    "day": ("day", 1),
    "week": ("week", 1),
    "month": ("month", 1),
    "quarter": ("month", 3),
    "year": ("year", 1),
}
# Stripe's own bound: an interval is at most three years (1095 days, 156 weeks, 36 months).
MAX_COUNT: dict[str, int] = {"day": 1095, "week": 156, "month": 36, "year": 3}


class RevenueInputError(ValueError):
    """Input that cannot be turned into trustworthy numbers; the message says what and where."""


@dataclass(frozen=True)
class Cycle:
    """A billing interval: every `count` `unit`s."""

    unit: str
    count: int

    @property
    def per_year(self) -> int:
        """The unit's periods in a year (12 for months); the interval has per_year / count."""
        return UNITS[self.unit]

    @property
    def months(self) -> Fraction:
        """The interval's length in months (a week is 12/52 of one)."""
        return Fraction(12 * self.count, self.per_year)

    @property
    def name(self) -> Interval:
        for name, pair in _NAMED.items():
            if pair == (self.unit, self.count):
                return name
        return f"{self.count} {self.unit}s"


@functools.lru_cache(maxsize=512)
def cycle(interval: str) -> Cycle:
    """The interval named `interval` ("month", "quarter", "2 weeks", "every 6 months").
    Cached: a ledger names a handful of intervals on every one of its lines."""
    words = interval.strip().lower().removeprefix("every ").split()
    if len(words) == 1 and words[0] in _NAMED:
        return Cycle(*_NAMED[words[0]])
    if len(words) == 2 and words[0].isascii() and words[0].isdigit():
        return interval_of(words[1].removesuffix("s"), int(words[0]))
    raise RevenueInputError(
        f"interval {interval!r} is not day, week, month, quarter, year or "
        "a count of them such as '2 weeks' or '6 months'"
    )


def interval_of(unit: str, count: int) -> Cycle:
    """Stripe's (interval, interval_count) as a cycle; 12 months are a year."""
    if unit not in UNITS:
        raise RevenueInputError(f"interval unit {unit!r} is not one of {', '.join(UNITS)}")
    if not 1 <= count <= MAX_COUNT[unit]:
        raise RevenueInputError(
            f"every {count} {unit}(s): the count must be 1 to {MAX_COUNT[unit]} (three years)"
        )
    if unit == "month" and count % 12 == 0:
        return Cycle("year", count // 12)
    return Cycle(unit, count)


def months_in(interval: Interval) -> Fraction:
    return cycle(interval).months


@dataclass(frozen=True)
class Exclusion:
    """A customer left out of the figures: the record that made their numbers untrustworthy
    and why, in words."""

    customer: str
    record: str
    reason: str

    def __str__(self) -> str:
        return f"{self.reason} ({self.record})"


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
    # Customers left out because their records cannot be counted (`quarantine.screen`); the
    # other lists hold none of their records. Whoever shows figures shows these too.
    excluded: list[Exclusion] = field(default_factory=list)
