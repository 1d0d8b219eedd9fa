"""Each named setting changes exactly what it should, on ledgers small enough to check by hand."""

from __future__ import annotations

from dataclasses import replace

from founderops.revenue import engine
from founderops.revenue.engine import Settings
from tests.revenue.ledgers import Books, column, dollars

DEFAULT = Settings()


def _discounted() -> Books:
    # 80.00 a month, 50 % off the first two invoices (a repeating coupon), Feb to Apr.
    books = Books("2025-02", "2025-04")
    books.bill("D", "2025-02-10", 8000, count=2, discount=4000, duration="repeating")
    books.bill("D", "2025-04-10", 8000, sub="sub_D_1")
    return books


def _forever() -> Books:
    books = Books("2025-01", "2025-01")
    books.bill("C", "2025-01-01", 5000, discount=1000, duration="forever")
    return books


def test_it_lowers_mrr_by_every_discount_applied_by_default() -> None:
    result = engine.compute(_discounted().ledger, DEFAULT)
    assert dollars(result, "D") == ["40.00", "40.00", "80.00"]


def test_it_counts_a_discount_expiring_as_expansion() -> None:
    result = engine.compute(_discounted().ledger, DEFAULT)
    assert column(result, "expansion") == ["0.00", "0.00", "40.00"]


def test_it_ignores_repeating_discounts_when_only_forever_ones_count() -> None:
    result = engine.compute(_discounted().ledger, replace(DEFAULT, discounts="forever_only"))
    assert dollars(result, "D") == ["80.00", "80.00", "80.00"]


def test_it_subtracts_forever_discounts_when_only_forever_ones_count() -> None:
    result = engine.compute(_forever().ledger, replace(DEFAULT, discounts="forever_only"))
    assert dollars(result, "C") == ["40.00"]


def test_it_uses_the_catalog_price_when_discounts_are_ignored() -> None:
    result = engine.compute(_forever().ledger, replace(DEFAULT, discounts="ignored"))
    assert dollars(result, "C") == ["50.00"]


def _canceled_with_refund() -> Books:
    # 60.00 paid for 03-01..04-01, canceled and fully refunded on 03-05.
    books = Books("2025-03", "2025-04")
    (invoice,) = books.bill("F", "2025-03-01", 6000)
    books.end("sub_F_1", "2025-03-05")
    books.refund(invoice, 6000, "2025-03-05")
    return books


def test_it_recognises_churn_when_the_paid_period_ends_by_default() -> None:
    result = engine.compute(_canceled_with_refund().ledger, DEFAULT)
    assert column(result, "churn") == ["0.00", "60.00"]


def test_it_recognises_churn_at_cancellation_when_asked() -> None:
    settings = replace(DEFAULT, churn_recognition="at_cancellation")
    result = engine.compute(_canceled_with_refund().ledger, settings)
    assert column(result, "churn") == ["60.00", "0.00"]


def test_it_keeps_a_refunded_invoice_in_mrr_by_default() -> None:
    result = engine.compute(_canceled_with_refund().ledger, DEFAULT)
    assert dollars(result, "F") == ["60.00", "0.00"]


def test_it_removes_a_fully_refunded_invoice_when_refunds_are_deducted() -> None:
    result = engine.compute(_canceled_with_refund().ledger, replace(DEFAULT, refunds="deduct"))
    assert (column(result, "new"), column(result, "churn")) == (["0.00"] * 2, ["0.00"] * 2)


def test_it_deducts_the_refunded_share_of_a_partly_refunded_invoice() -> None:
    books = Books("2025-01", "2025-01")
    (invoice,) = books.bill("A", "2025-01-01", 10000)
    books.refund(invoice, 2500, "2025-01-10")
    result = engine.compute(books.ledger, replace(DEFAULT, refunds="deduct"))
    assert dollars(result, "A") == ["75.00"]


def _dunning() -> Books:
    # 70.00 a month from January; the April invoice is never paid and voided on 05-01.
    books = Books("2025-01", "2025-05")
    books.bill("G", "2025-01-01", 7000, count=3)
    (april,) = books.bill("G", "2025-04-01", 7000, sub="sub_G_1", status="open")
    books.fail(april, "2025-04-01")
    books.void(april, "2025-05-01")
    books.end("sub_G_1", "2025-05-01")
    return books


def test_it_counts_a_past_due_invoice_until_the_subscription_is_canceled_by_default() -> None:
    result = engine.compute(_dunning().ledger, DEFAULT)
    assert column(result, "churn") == ["0.00", "0.00", "0.00", "0.00", "70.00"]


def test_it_churns_when_the_first_unpaid_period_starts_if_unpaid_invoices_are_excluded() -> None:
    result = engine.compute(_dunning().ledger, replace(DEFAULT, past_due="exclude_unpaid"))
    assert column(result, "churn") == ["0.00", "0.00", "0.00", "70.00", "0.00"]


def _trial() -> Books:
    # A 14-day trial of a 30.00 plan from 01-20, then paid monthly from 02-03.
    books = Books("2025-01", "2025-02")
    books.bill("E", "2025-01-20", 3000, sub="sub_E", trial=True)
    books.ledger.invoices[-1].period_end = books.ledger.invoices[-1].period_start.replace(
        month=2, day=3
    )
    books.bill("E", "2025-02-03", 3000, sub="sub_E")
    return books


def test_it_counts_a_trial_as_zero_by_default() -> None:
    result = engine.compute(_trial().ledger, DEFAULT)
    assert column(result, "new") == ["0.00", "30.00"]


def test_it_counts_a_trial_at_its_list_price_when_asked() -> None:
    result = engine.compute(_trial().ledger, replace(DEFAULT, trials="list_price"))
    assert (column(result, "new"), column(result, "expansion")) == (
        ["30.00", "0.00"],
        ["0.00", "0.00"],
    )


def _taxed() -> Books:
    books = Books("2025-01", "2025-01")
    books.bill("B", "2025-01-15", 120000, interval="year", tax=24000)
    return books


def test_it_leaves_tax_out_of_mrr_by_default() -> None:
    assert dollars(engine.compute(_taxed().ledger, DEFAULT), "B") == ["100.00"]


def test_it_puts_tax_into_mrr_when_asked() -> None:
    result = engine.compute(_taxed().ledger, replace(DEFAULT, tax="include"))
    assert dollars(result, "B") == ["120.00"]


def _euro() -> Books:
    books = Books("2025-01", "2025-02")
    books.bill("H", "2025-01-01", 10000, count=2, currency="EUR")
    books.rate("EUR", "2025-01-01", "1.10")
    books.rate("EUR", "2025-02-01", "1.05")
    return books


def test_it_converts_each_period_at_its_start_date_rate_by_default() -> None:
    result = engine.compute(_euro().ledger, DEFAULT)
    assert (dollars(result, "H"), column(result, "fx")) == (["110.00", "105.00"], ["0.00", "-5.00"])


def test_it_reports_a_rate_change_as_fx_not_as_a_movement() -> None:
    result = engine.compute(_euro().ledger, DEFAULT)
    assert column(result, "contraction") == ["0.00", "0.00"]


def test_it_converts_at_the_subscription_start_rate_when_asked() -> None:
    result = engine.compute(_euro().ledger, replace(DEFAULT, fx_date="subscription_start"))
    assert (dollars(result, "H"), column(result, "fx")) == (["110.00", "110.00"], ["0.00", "0.00"])


def test_it_gives_month_end_mrr_by_customer_name() -> None:
    result = engine.compute(_euro().ledger, DEFAULT)
    assert result.month_end_by_name() == {"H": [11000, 10500]}
