"""Acquisition spend, recorded by the founder, for CAC and payback (`metrics.acquisition`).

One row per month and channel ("ads", "sponsorships", or "all"); recording the same month and
channel again replaces the figure, so a corrected spreadsheet can be entered twice. Amounts
in another currency are converted at the rate in force on the month's first day; a month
without such a rate is recorded (the rate may come later) but never counted as zero: CAC and
payback name the missing rate and cannot be computed until it is imported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from django.db import transaction

from founderops.core import audit, clock
from founderops.core.errors import InvalidInput
from founderops.core.money import Money, exponent, is_currency
from founderops.revenue import csv_import
from founderops.revenue.book import REPORTING_CURRENCY
from founderops.revenue.models import AcquisitionSpend, FxRate

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_CHANNEL = re.compile(r"^[a-z0-9][a-z0-9 _.-]{0,59}$")
FIRST_MONTH = date(2000, 1, 1)
# The channel of spend not split by channel.
ALL = "all"
# Larger is surely a typo (and would not fit the database's 64-bit integers); as for CSV rows.
MAX_AMOUNT = csv_import.MAX_AMOUNT


def parse_month(text: str) -> date:
    """A month from 2000-01 to a year ahead of this one (spend is planned, not imagined)."""
    match = _MONTH.match(text.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        raise InvalidInput(f"month must be YYYY-MM, got {text!r}")
    month = date(int(match[1]), int(match[2]), 1)
    today = clock.now().date()
    latest = date(today.year + 1, today.month, 1)
    if not FIRST_MONTH <= month <= latest:
        raise InvalidInput(
            f"month must be from {FIRST_MONTH:%Y-%m} to {latest:%Y-%m} (a year ahead), "
            f"got {text.strip()!r}"
        )
    return month


_AMOUNT = re.compile(r"^-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")


def parse_amount(text: str, currency: str) -> int:
    """'1250' or '1250.50' in the currency's major unit, as minor units."""
    figure = text.strip()
    # Commas only as thousands groups: "1.250,00" or "1,5" would otherwise read 1000x off.
    if not _AMOUNT.match(figure):
        raise InvalidInput(
            f"amount must be a number such as 1250.00 or 1,250.00 (a dot for decimals), "
            f"got {text!r}"
        )
    value = Decimal(figure.replace(",", ""))
    if abs(value) >= MAX_AMOUNT:
        raise InvalidInput(
            f"amount too large: {text.strip()[:30]!r} (must be below {MAX_AMOUNT:,} {currency})"
        )
    minor = value.scaleb(exponent(currency))
    if minor != minor.to_integral_value():
        raise InvalidInput(f"amount {text!r} has more decimals than {currency} allows")
    if minor < 0:
        raise InvalidInput(f"spend cannot be negative, got {text!r}")
    return int(minor)


@dataclass(frozen=True)
class Recorded:
    row: AcquisitionSpend
    # What the month and channel held before, when it held something.
    replaced: Money | None = None

    def __str__(self) -> str:
        """ "recorded 5 JPY of spend (all channels) for 2026-03, replacing 1,250.00 USD"."""
        row = self.row
        said = f"recorded {Money(row.amount, row.currency)} of {spent_on(row.channel)}"
        said += f" for {row.month:%Y-%m}"
        if self.replaced is None:
            return said
        if self.replaced == Money(row.amount, row.currency):
            return f"{said}, as before"
        return f"{said}, replacing {self.replaced}"


def spent_on(channel: str) -> str:
    """ "ads spend", or "spend (all channels)" for the channel called all."""
    return "spend (all channels)" if channel == ALL else f"{channel} spend"


def record_spend(
    month: date, amount: int, currency: str, channel: str, actor: str, note: str = ""
) -> Recorded:
    """Store (or replace) one month's spend on one channel; audited with what it replaced."""
    currency = currency.upper()
    Money(amount, currency)  # raises on a malformed currency
    if not is_currency(currency):
        raise InvalidInput(f"currency {currency!r} is not an ISO 4217 currency code")
    channel = channel.strip().lower()
    if not channel:
        raise InvalidInput(
            "channel is empty: name it (ads, sponsorships) or leave --channel out for all"
        )
    if not _CHANNEL.match(channel):
        raise InvalidInput(
            f"channel must be a short name (letters, digits, - _ .), got {channel!r}"
        )
    if amount < 0:
        raise InvalidInput("spend cannot be negative")
    month = month.replace(day=1)
    with transaction.atomic():
        before = AcquisitionSpend.objects.filter(month=month, channel=channel).first()
        replaced = Money(before.amount, before.currency) if before else None
        row, _ = AcquisitionSpend.objects.update_or_create(
            month=month,
            channel=channel,
            defaults={
                "amount": amount,
                "currency": currency,
                "note": note[:200],
                "recorded_at": clock.now(),
            },
        )
        audit.record(
            actor,
            "revenue.spend_recorded",
            ("acquisition_spend", row.pk),
            outcome=str(Money(amount, currency)),
            details={
                "month": f"{row.month:%Y-%m}",
                "channel": channel,
                "before": str(replaced) if replaced else None,
            },
        )
    return Recorded(row, replaced)


def spend_by_month(through: date | None = None) -> list[tuple[date, int]]:
    """Every recorded spend as (month, US cents), for `metrics.acquisition`."""
    rows = AcquisitionSpend.objects.all()
    if through is not None:
        rows = rows.filter(month__lte=through)
    return [(row.month, _in_reporting_currency(row)) for row in rows]


def missing_rate(row: AcquisitionSpend) -> str:
    """Why `row` cannot be converted to the reporting currency yet, or "" when it can."""
    if row.currency == REPORTING_CURRENCY or _rate(row) is not None:
        return ""
    return (
        f"no {row.currency}{REPORTING_CURRENCY} rate on or before {row.month} for the "
        f"{row.month:%Y-%m} {spent_on(row.channel)}: CAC and payback cannot be computed until "
        "one is imported (`founderops revenue import-rates FILE`, columns currency,day,rate)"
    )


def _rate(row: AcquisitionSpend) -> FxRate | None:
    return FxRate.objects.filter(currency=row.currency, day__lte=row.month).order_by("-day").first()


def _in_reporting_currency(row: AcquisitionSpend) -> int:
    if row.currency == REPORTING_CURRENCY:
        return row.amount
    rate = _rate(row)
    if rate is None:
        raise InvalidInput(missing_rate(row))
    raw = rate.rate
    usd = Fraction(raw) if "/" in raw else Fraction(Decimal(raw))
    scale = Fraction(100, 10 ** exponent(row.currency))
    # Half up, as every other conversion here (spend is never negative).
    return int(row.amount * usd * scale + Fraction(1, 2))
