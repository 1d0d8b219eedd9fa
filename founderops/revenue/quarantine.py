"""Customers whose records cannot be counted trustworthily, left out with the reason.

The engine refuses a book it cannot count exactly (a customer billed in two currencies, an
invoice whose lines add up to a negative MRR, refunds above what an invoice charged, a foreign
invoice with no FX rate on or before its date, more MRR in all than 64 bits count exactly
with the book's FX rates): right for a fixture or a scenario, where the error is the answer,
but on the product's stored billing one bad record would blank every revenue view.
Subscription analytics tools (ChartMogul, Baremetrics) keep computing and flag the record
instead; so does this: `screen` runs the engine's own checks per customer before
the engine, and a customer who fails one is taken out whole (all their subscriptions,
invoices, refunds and failed payments) and listed in `Ledger.excluded` with the record and
the reason. Everyone else's figures are exact. Whoever shows figures shows the list too.

A customer is taken out whole, not just the bad invoice, because half a history is worse than
none: dropping one invoice would show a churn and a comeback that never happened.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date

from founderops.core.money import Money
from founderops.revenue.billing import (
    Exclusion,
    Invoice,
    InvoiceLine,
    Ledger,
    RevenueInputError,
    Subscription,
    cycle,
)
from founderops.revenue.book import REPORTING_CURRENCY
from founderops.revenue.engine import (
    LIMIT,
    PROFILES,
    Settings,
    cents_per_minor_unit,
    mrr_bound,
    rate_denominator,
)

SECOND_CURRENCY = "billed in {known} and {other}; one currency per customer"


def screen(ledger: Ledger, profiles: Iterable[Settings] = PROFILES.values()) -> Ledger:
    """`ledger` without the customers the engine would refuse under any of `profiles` (the
    product shows both profiles), with `excluded` saying who and why."""
    chosen = tuple(profiles)
    found = [
        *ledger.excluded,
        *_second_currencies(ledger),
        *_intervals(ledger),
        *_negative_invoices(ledger, chosen),
        *_excess_refunds(ledger),
        *_missing_rates(ledger, chosen),
    ]
    # The bound is on the book as a whole: checked on what the other checks leave.
    found += _too_large(without(ledger, found), chosen)
    return without(ledger, found)


def without(ledger: Ledger, exclusions: list[Exclusion]) -> Ledger:
    """`ledger` with every record of the excluded customers taken out."""
    if not exclusions:
        return ledger
    out = {exclusion.customer for exclusion in exclusions}
    invoices = [invoice for invoice in ledger.invoices if invoice.customer not in out]
    kept = {invoice.id for invoice in invoices}
    return Ledger(
        customers=[customer for customer in ledger.customers if customer not in out],
        subscriptions={
            key: sub for key, sub in ledger.subscriptions.items() if sub.customer not in out
        },
        invoices=invoices,
        refunds=[refund for refund in ledger.refunds if refund.invoice in kept],
        failed_payments=[f for f in ledger.failed_payments if f.invoice in kept],
        rates=list(ledger.rates),
        first_month=ledger.first_month,
        last_month=ledger.last_month,
        excluded=list(dict.fromkeys(exclusions)),
    )


def customers_out(exclusions: Iterable[Exclusion]) -> list[str]:
    """The excluded customers' keys, once each, in the order first named."""
    return list(dict.fromkeys(exclusion.customer for exclusion in exclusions))


# The checks, each the engine's own (book._customer_currencies, engine._invoice_mrr,
# _after_refunds, _to_reporting), one exclusion per customer and check: the first record.


def _second_currencies(ledger: Ledger) -> Iterator[Exclusion]:
    found: dict[str, str] = {}
    flagged: set[str] = set()
    for kind, record in _records(ledger):
        known = found.setdefault(record.customer, record.currency)
        if known != record.currency and record.customer not in flagged:
            flagged.add(record.customer)
            reason = SECOND_CURRENCY.format(known=known, other=record.currency)
            yield Exclusion(record.customer, f"{kind} {record.id}", reason)


def _records(ledger: Ledger) -> Iterator[tuple[str, Invoice | Subscription]]:
    for sub in ledger.subscriptions.values():
        yield "subscription", sub
    for invoice in ledger.invoices:
        yield "invoice", invoice


def _intervals(ledger: Ledger) -> Iterator[Exclusion]:
    for invoice in _first_per_customer(ledger.invoices, _bad_interval):
        line = next(line for line in invoice.lines if _interval_error(line))
        reason = f"its price bills {_interval_error(line)}"
        yield Exclusion(invoice.customer, f"invoice {invoice.id}", reason)


def _bad_interval(invoice: Invoice) -> bool:
    return any(_interval_error(line) for line in invoice.lines)


def _interval_error(line: InvoiceLine) -> str:
    try:
        cycle(line.interval)
    except RevenueInputError as error:
        return str(error)
    return ""


def _negative_invoices(ledger: Ledger, profiles: tuple[Settings, ...]) -> Iterator[Exclusion]:
    def negative(invoice: Invoice) -> bool:
        return not _bad_interval(invoice) and any(
            invoice_twelfths(invoice, settings) < 0 for settings in profiles
        )

    for invoice in _first_per_customer(ledger.invoices, negative):
        reason = (
            "an invoice's lines add up to a negative MRR "
            f"({Money(invoice.net, invoice.currency)} a period); a credit line may lower an "
            "invoice but not below zero"
        )
        yield Exclusion(invoice.customer, f"invoice {invoice.id}", reason)


def invoice_twelfths(invoice: Invoice, settings: Settings) -> int:
    """The invoice's MRR in twelfths of a minor unit as the engine counts it."""
    total = 0
    for line in invoice.lines:
        every = cycle(line.interval)
        product = _line_amount(line, settings) * every.per_year
        total += (2 * product + every.count) // (2 * every.count)
    return total


def _line_amount(line: InvoiceLine, settings: Settings) -> int:
    """engine._line_amount for one line."""
    if line.trial:
        return line.gross if settings.trials == "list_price" else 0
    amount = line.gross
    if settings.discounts == "all_applied" or (
        settings.discounts == "forever_only" and line.discount_duration == "forever"
    ):
        amount -= line.discount
    return amount + (line.tax if settings.tax == "include" else 0)


def _excess_refunds(ledger: Ledger) -> Iterator[Exclusion]:
    refunded: dict[str, int] = defaultdict(int)
    for refund in ledger.refunds:
        refunded[refund.invoice] += refund.amount

    def excess(invoice: Invoice) -> bool:
        return refunded.get(invoice.id, 0) > max(invoice.net, 0)

    for invoice in _first_per_customer(ledger.invoices, excess):
        reason = (
            f"refunds of {Money(refunded[invoice.id], invoice.currency)} exceed what an "
            f"invoice charged ({Money(invoice.net, invoice.currency)} before tax)"
        )
        yield Exclusion(invoice.customer, f"invoice {invoice.id}", reason)


def _missing_rates(ledger: Ledger, profiles: tuple[Settings, ...]) -> Iterator[Exclusion]:
    days: dict[str, list[date]] = defaultdict(list)
    for rate in ledger.rates:
        days[rate.currency].append(rate.day)
    first = {currency: min(found) for currency, found in days.items()}

    def missing(invoice: Invoice) -> date | None:
        if invoice.currency == REPORTING_CURRENCY or _bad_interval(invoice):
            return None
        for day in _rate_days(ledger, invoice, profiles):
            if invoice.currency not in first or day < first[invoice.currency]:
                return day
        return None

    for invoice in _first_per_customer(ledger.invoices, lambda i: missing(i) is not None):
        day = missing(invoice)
        reason = f"no {invoice.currency}{REPORTING_CURRENCY} rate on or before {day:%Y-%m-%d}"
        yield Exclusion(invoice.customer, f"invoice {invoice.id}", reason)


def _too_large(ledger: Ledger, profiles: tuple[Settings, ...]) -> list[Exclusion]:
    """engine._check_range, by customer: when all MRR together, in the engine's unit, is more
    than 64 bits count exactly, the customers with the most are left out until the rest fit.
    Counted at each currency's highest rate and each invoice's highest MRR under `profiles`,
    so that what is left always fits."""
    denominator = rate_denominator(ledger.rates)
    factor = {REPORTING_CURRENCY: denominator}
    for rate in ledger.rates:
        if rate.currency != REPORTING_CURRENCY:
            scaled = int(cents_per_minor_unit(rate) * denominator)
            factor[rate.currency] = max(factor.get(rate.currency, 0), scaled)
    units: dict[str, int] = defaultdict(int)
    largest: dict[str, Invoice] = {}
    for invoice in ledger.invoices:
        mrr = max(abs(invoice_twelfths(invoice, settings)) for settings in profiles)
        units[invoice.customer] += mrr * factor.get(invoice.currency, 0)
        if invoice.customer not in largest or invoice.net > largest[invoice.customer].net:
            largest[invoice.customer] = invoice
    total, out = sum(units.values()), []
    for customer in sorted(units, key=lambda name: (-units[name], name)):
        if 2 * total < LIMIT:
            break
        total -= units[customer]
        invoice = largest[customer]
        reason = (
            f"its MRR (the largest invoice {Money(invoice.net, invoice.currency)} a period) "
            f"takes the MRR of all invoices together past {mrr_bound(denominator):,} US "
            "dollars, the most counted exactly in 64 bits with these FX rates"
        )
        out.append(Exclusion(customer, f"invoice {invoice.id}", reason))
    return out


def _rate_days(ledger: Ledger, invoice: Invoice, profiles: tuple[Settings, ...]) -> list[date]:
    """The days whose rate converts `invoice` under `profiles`, when it has an MRR there."""
    out = []
    for settings in profiles:
        if invoice.period_end <= invoice.period_start or not invoice_twelfths(invoice, settings):
            continue
        moment = invoice.period_start
        if (
            settings.fx_date == "subscription_start"
            and invoice.subscription in ledger.subscriptions
        ):
            moment = ledger.subscriptions[invoice.subscription].started_at
        out.append(moment.astimezone(UTC).date())
    return out


def _first_per_customer(
    invoices: list[Invoice], bad: Callable[[Invoice], bool]
) -> Iterator[Invoice]:
    flagged: set[str] = set()
    for invoice in invoices:
        if invoice.customer not in flagged and bad(invoice):
            flagged.add(invoice.customer)
            yield invoice
