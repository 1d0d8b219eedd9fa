"""`quarantine.screen`: a customer whose records the engine would refuse is left out, with the
record and the reason; everyone else is counted to the cent."""

from __future__ import annotations

from dataclasses import replace

import pytest

from founderops.revenue import engine, quarantine
from founderops.revenue.billing import Exclusion, Ledger, RevenueInputError
from founderops.revenue.engine import PROFILES, Settings
from tests.revenue.ledgers import Books, dollars


def _with_good_customer() -> Books:
    books = Books("2025-01", "2025-01")
    books.bill("good", "2025-01-01", 2000)
    return books


def _screened(books: Books) -> tuple[Ledger, list[str]]:
    ledger = quarantine.screen(books.ledger)
    return ledger, dollars(engine.compute(ledger), "good")


def test_it_leaves_a_clean_ledger_as_it_is() -> None:
    books = _with_good_customer()
    assert quarantine.screen(books.ledger) is books.ledger


def test_it_leaves_out_a_customer_billed_in_a_second_currency() -> None:
    books = _with_good_customer()
    books.rate("EUR", "2024-01-01", "1.10")
    books.bill("two", "2025-01-01", 1000, sub="sub_usd")
    books.bill("two", "2025-01-05", 1000, sub="sub_eur", currency="EUR")
    ledger, good = _screened(books)
    assert ledger.excluded == [
        Exclusion("two", "subscription sub_eur", "billed in USD and EUR; one currency per customer")
    ]
    assert (ledger.customers, good) == (["good"], ["20.00"])


def test_it_leaves_out_a_customer_with_an_invoice_below_zero() -> None:
    books = _with_good_customer()
    books.bill("credit", "2025-01-01", 1000, extra=(-2000,))
    ledger, good = _screened(books)
    [excluded] = ledger.excluded
    assert (excluded.customer, excluded.record) == ("credit", "invoice in_2")
    assert excluded.reason.startswith("an invoice's lines add up to a negative MRR (-10.00 USD")
    assert good == ["20.00"]


def test_it_checks_the_invoices_under_the_settings_it_is_given() -> None:
    # Negative once the discount is applied (ChartMogul-like), positive at the list price.
    books = _with_good_customer()
    books.bill("deep", "2025-01-01", 1000, discount=800, duration="repeating", extra=(-500,))
    assert [e.customer for e in quarantine.screen(books.ledger).excluded] == ["deep"]
    assert quarantine.screen(books.ledger, [Settings(discounts="ignored")]).excluded == []


def test_it_leaves_out_a_customer_whose_refunds_exceed_the_invoice() -> None:
    books = _with_good_customer()
    (invoice,) = books.bill("refunded", "2025-01-01", 1000)
    books.refund(invoice, 700, "2025-01-03")
    books.refund(invoice, 700, "2025-01-04")
    ledger, good = _screened(books)
    assert [str(e) for e in ledger.excluded] == [
        "refunds of 14.00 USD exceed what an invoice charged (10.00 USD before tax) (invoice in_2)"
    ]
    assert (ledger.refunds, good) == ([], ["20.00"])


def test_it_leaves_out_a_customer_whose_currency_has_no_rate_that_early() -> None:
    books = _with_good_customer()
    books.rate("EUR", "2025-01-10", "1.10")
    books.bill("early", "2025-01-01", 1000, currency="EUR")
    books.bill("later", "2025-01-15", 1000, currency="EUR")
    ledger, good = _screened(books)
    assert [(e.customer, str(e)) for e in ledger.excluded] == [
        ("early", "no EURUSD rate on or before 2025-01-01 (invoice in_2)")
    ]
    result = engine.compute(ledger)
    assert (good, dollars(result, "later")) == (["20.00"], ["11.00"])


def test_it_needs_no_rate_for_an_invoice_without_mrr() -> None:
    books = _with_good_customer()
    books.bill("trial", "2025-01-01", 1000, currency="EUR", trial=True)
    ledger, _ = _screened(books)
    assert ledger.excluded == []


def test_it_leaves_out_a_customer_whose_interval_cannot_be_read() -> None:
    books = _with_good_customer()
    (invoice,) = books.bill("odd", "2025-01-01", 1000)
    invoice.lines[0] = replace(invoice.lines[0], interval="fortnightly")
    ledger, good = _screened(books)
    [excluded] = ledger.excluded
    assert (excluded.customer, excluded.record) == ("odd", "invoice in_2")
    assert excluded.reason.startswith("its price bills interval 'fortnightly' is not")
    assert good == ["20.00"]


def test_it_takes_every_record_of_a_left_out_customer() -> None:
    books = _with_good_customer()
    (bad,) = books.bill("bad", "2025-01-01", 1000, extra=(-2000,))
    books.fail(bad, "2025-01-02")
    ledger = quarantine.screen(books.ledger)
    assert [i.customer for i in ledger.invoices] == ["good"]
    assert [s.customer for s in ledger.subscriptions.values()] == ["good"]
    assert ledger.failed_payments == []


def test_it_names_each_customer_once_per_reason() -> None:
    books = _with_good_customer()
    books.bill("credit", "2025-01-01", 1000, count=3, extra=(-2000,))
    assert [e.record for e in quarantine.screen(books.ledger).excluded] == ["invoice in_2"]


def test_it_keeps_exclusions_found_while_reading() -> None:
    books = _with_good_customer()
    books.bill("seen", "2025-01-01", 1000)
    books.ledger.excluded.append(Exclusion("seen", "invoice in_9 line il_9", "read error"))
    ledger = quarantine.screen(books.ledger)
    assert (ledger.customers, [e.reason for e in ledger.excluded]) == (["good"], ["read error"])


def test_it_lets_the_engine_compute_what_it_would_have_refused() -> None:
    books = _with_good_customer()
    books.bill("credit", "2025-01-01", 1000, extra=(-2000,))
    ledger = quarantine.screen(books.ledger)
    for profile in PROFILES.values():
        assert engine.compute(ledger, profile).customers == ["good"]


def _huge(books: Books, customer: str, days: int) -> None:
    """`days` daily invoices of 9,999,999.99 EUR: each about 3.95 x 10^17 engine units."""
    books.bill(customer, "2025-01-01", 999_999_999, count=days, interval="day", currency="EUR")


def _with_six_decimal_rate() -> Books:
    books = _with_good_customer()
    books.rate("EUR", "2024-01-01", "1.082959")  # the engine's unit: 1/(12 x 10^6) of a cent
    return books


def test_it_names_the_real_bound_when_the_engine_cannot_count_a_book_exactly() -> None:
    books = _with_six_decimal_rate()
    _huge(books, "huge", 6)
    with pytest.raises(RevenueInputError) as caught:
        engine.compute(books.ledger)
    assert str(caught.value) == (
        "MRR too large for exact 64-bit arithmetic: the MRR of all invoices together (each "
        "converted at its FX rate, then added up) passes 1,921,535,841 US dollars, the most "
        "these rates allow (the engine counts in 1/(12 x 1,000,000) of a cent; rates with "
        "fewer decimals raise the bound)"
    )


def test_it_leaves_out_a_customer_whose_mrr_takes_the_book_past_exact_arithmetic() -> None:
    books = _with_six_decimal_rate()
    _huge(books, "huge", 6)
    ledger, good = _screened(books)
    assert [(e.customer, e.record, e.reason) for e in ledger.excluded] == [
        (
            "huge",
            "invoice in_2",
            "its MRR (the largest invoice 9,999,999.99 EUR a period) takes the MRR of all "
            "invoices together past 1,921,535,841 US dollars, the most counted exactly in 64 "
            "bits with these FX rates",
        )
    ]
    assert good == ["20.00"]


def test_it_leaves_out_the_largest_customers_only_until_the_rest_fit() -> None:
    books = _with_six_decimal_rate()
    _huge(books, "larger", 4)
    _huge(books, "smaller", 3)
    ledger = quarantine.screen(books.ledger)
    assert ([e.customer for e in ledger.excluded], ledger.customers) == (
        ["larger"],
        ["good", "smaller"],
    )
    engine.compute(ledger)


def test_it_keeps_a_book_just_inside_exact_arithmetic() -> None:
    books = _with_six_decimal_rate()
    _huge(books, "huge", 5)
    assert quarantine.screen(books.ledger).excluded == []
    engine.compute(books.ledger)
