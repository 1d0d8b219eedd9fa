"""Cash-flow projection: the collections active subscriptions should bring in over the next
months, from each one's next invoice date and amount.

Assumptions, each stated because each can be wrong in its own way:
- a subscription that runs (not ended, not set to cancel at period end, latest invoice paid)
  is invoiced again when its latest service period ends, then every interval after (a month
  or a year on the same day of the month; a week or a day every 7 or 1 days), for what
  its latest invoice charged including tax and discounts (a repeating discount that is about
  to expire is carried on; a customer's churn is not predicted here: that is churn risk's job);
- a renewal already due but not yet invoiced is expected on the first projected day;
- past-due subscriptions (latest invoice open) are left out and their open invoices are
  reported apart as `outstanding`; trials are left out (their end is not an invoice yet);
- foreign currencies are converted at the latest rate known on the range's last day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from fractions import Fraction

import numpy as np

from founderops.revenue.billing import RevenueInputError
from founderops.revenue.book import I64, NEVER, OPEN, PAID, Book, Bools, day_date, day_number
from founderops.revenue.engine import Calendar, Result


@dataclass(frozen=True)
class Collection:
    month: date
    # reporting-currency cents, exact
    expected: Fraction
    invoices: int


@dataclass(frozen=True)
class Projection:
    collections: list[Collection]
    # open (past-due) invoices at the range's end: cents and count, not in `collections`
    outstanding: Fraction
    outstanding_invoices: int


def projection(result: Result, months: int = 12) -> Projection:
    """Expected collections in each of the `months` months after the range's last day."""
    if months < 1:
        raise RevenueInputError("a projection needs at least one month")
    book, calendar = result.book, result.calendar
    latest = _latest_invoices(book, calendar.last_day)
    charged, per_year, every, trial = _invoice_totals(book)
    running = (
        (book.subscriptions.end[book.invoices.subscription[latest]] == NEVER)
        & ~book.subscriptions.cancel_at_period_end[book.invoices.subscription[latest]]
        & (book.invoices.status[latest] == PAID)
        & ~trial[latest]
        & (charged[latest] > 0)
    )
    due = latest[running]
    factor = _factor_on(result, calendar.last_day)
    month, row = _all_renewals(book.invoices.end[due], per_year[due], every[due], calendar, months)
    units = np.zeros(months, dtype=np.int64)
    counts = np.zeros(months, dtype=np.int64)
    np.add.at(units, month, (charged[due] * factor[due])[row])
    np.add.at(counts, month, 1)
    start = day_date(calendar.last_day + 1).replace(day=1)
    open_rows = latest[book.invoices.status[latest] == OPEN]
    cents = [Fraction(int(value), result.rates.denominator) for value in units]
    return Projection(
        collections=[
            Collection(_add_months(start, k), cents[k], int(counts[k])) for k in range(months)
        ],
        outstanding=Fraction(
            int((charged[open_rows] * factor[open_rows]).sum()), result.rates.denominator
        ),
        outstanding_invoices=len(open_rows),
    )


def _latest_invoices(book: Book, last_day: int) -> I64:
    """Each subscription's invoice with the latest service-period start up to `last_day`."""
    invoices = book.invoices
    rows = np.flatnonzero(invoices.start <= last_day)
    order = rows[np.lexsort((invoices.start[rows], invoices.subscription[rows]))]
    subscription = invoices.subscription[order]
    if not len(order):
        return order
    return order[np.concatenate((subscription[1:] != subscription[:-1], [True]))]


def _invoice_totals(book: Book) -> tuple[I64, I64, I64, Bools]:
    """What each invoice charged (minor units, tax included), the interval of its longest
    line (as the lines carry it: per_year, every; a month when it has none), and whether it
    is a trial."""
    lines, count = book.lines, len(book.invoices.customer)
    charged, trial = np.zeros(count, np.int64), np.zeros(count, np.bool_)
    per_year, every = np.full(count, 12, np.int64), np.ones(count, np.int64)
    np.add.at(charged, lines.invoice, lines.gross - lines.discount + lines.tax)
    # Lengths in 1/56940 of a year (56940 = lcm of 365, 52, 12): whole numbers for every unit.
    length = lines.every * (56940 // lines.per_year)
    order = np.lexsort((length, lines.invoice))
    longest = order[np.concatenate((lines.invoice[order][1:] != lines.invoice[order][:-1], [True]))]
    if len(order):
        per_year[lines.invoice[longest]] = lines.per_year[longest]
        every[lines.invoice[longest]] = lines.every[longest]
    trial[lines.invoice[lines.trial]] = True
    return charged, per_year, every, trial


def _all_renewals(
    end: I64, per_year: I64, every: I64, calendar: Calendar, months: int
) -> tuple[I64, I64]:
    """Each renewal's month (from the first projected one) and its subscription's row.
    Month and year intervals renew on the same day of a later month; weeks and days renew
    every 7 x count or count days."""
    first_day = calendar.last_day + 1
    first_month = _month_number(first_day)
    by_month = (per_year == 12) | (per_year == 1)
    rows = np.flatnonzero(by_month)
    offset = np.maximum(_month_numbers(end[rows]) - first_month, 0)
    month, row = _renewals(offset, every[rows] * 12 // per_year[rows], months)
    by_day = np.flatnonzero(~by_month)
    step = np.where(per_year[by_day] == 52, 7, 1) * every[by_day]
    horizon = day_number(_add_months(day_date(first_day).replace(day=1), months))
    days, day_row = _day_renewals(np.maximum(end[by_day], first_day), step, horizon)
    return (
        np.concatenate((month, _month_numbers(days) - first_month)).astype(np.int64),
        np.concatenate((rows[row], by_day[day_row])).astype(np.int64),
    )


def _day_renewals(first: I64, step: I64, horizon: int) -> tuple[I64, I64]:
    """Every renewal day from `first` on, `step` days apart, before day `horizon`."""
    count = np.where(first < horizon, (horizon - 1 - first) // step + 1, 0)
    row = np.repeat(np.arange(len(first)), count)
    starts = np.cumsum(count) - count
    k = np.arange(len(row)) - np.repeat(starts, count)
    return first[row] + k * step[row], row


def _factor_on(result: Result, day: int) -> I64:
    """Per invoice: its currency's rate on `day` times the rates' denominator."""
    book, rates = result.book, result.rates
    currency = book.customer_currency[book.invoices.customer]
    factor = np.full(len(currency), rates.denominator, dtype=np.int64)
    for index, (days, values) in rates.table.items():
        found = int(np.searchsorted(days, day, side="right")) - 1
        mine = currency == index
        if found < 0 and mine.any():
            raise RevenueInputError(f"no {book.currencies[index]} rate on the range's last day")
        factor[mine] = values[found] if found >= 0 else 0
    return factor


def _renewals(offset: I64, interval: I64, months: int) -> tuple[I64, I64]:
    """For subscriptions whose next invoice falls `offset` months ahead, every invoice month
    within the horizon, and which subscription it belongs to."""
    count = np.where(offset < months, (months - 1 - offset) // interval + 1, 0)
    row = np.repeat(np.arange(len(offset)), count)
    starts = np.cumsum(count) - count
    step = np.arange(len(row)) - np.repeat(starts, count)
    return offset[row] + step * interval[row], row


def _month_number(day: int) -> int:
    moment = day_date(day)
    return moment.year * 12 + moment.month - 1


def _month_numbers(days: I64) -> I64:
    months = np.asarray(days).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return months + 1970 * 12


def _add_months(month: date, count: int) -> date:
    index = month.month - 1 + count
    return date(month.year + index // 12, index % 12 + 1, 1)
