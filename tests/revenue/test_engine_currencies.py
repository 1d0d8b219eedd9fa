"""Currencies without a minor unit (JPY, KRW, ...): a rate is per yen, an amount is in yen;
three-decimal currencies (KWD, BHD, ...): a rate is per dinar, an amount is in fils."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest

from founderops.core.money import ZERO_DECIMAL, Money, exponent
from founderops.revenue import csv_import, engine
from founderops.revenue.ledger import ledger_from_db
from tests.revenue.ledgers import Books, dollars

STRIPE_ZERO_DECIMAL = {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA"} | {
    "PYG",
    "RWF",
    "UGX",
    "VND",
    "VUV",
    "XAF",
    "XOF",
    "XPF",
}


def test_it_converts_a_yen_amount_at_the_rate_per_yen() -> None:
    books = Books("2026-01", "2026-01")
    books.rate("JPY", "2026-01-01", "0.0067")
    books.bill("K", "2026-01-01", 4900, currency="JPY")
    # 4900 yen x 0.0067 USD/yen = 32.83 USD, exactly.
    result = engine.compute(books.ledger)
    assert dollars(result, "K") == ["32.83"]
    assert result.month_end(result.customers.index("K")) == [3283]


def test_it_still_converts_a_two_decimal_currency_per_cent() -> None:
    books = Books("2026-01", "2026-01")
    books.rate("EUR", "2026-01-01", "1.1")
    books.rate("JPY", "2026-01-01", "0.0067")
    books.bill("E", "2026-01-01", 4900, currency="EUR")
    books.bill("K", "2026-01-01", 4900, currency="JPY")
    result = engine.compute(books.ledger)
    assert (dollars(result, "E"), dollars(result, "K")) == (["53.90"], ["32.83"])
    month = result.months[0]
    assert month.end == 5390 + 3283 == month.start + sum(month.moves.values()) + month.fx


@pytest.mark.django_db
def test_it_shows_an_imported_yen_invoice_at_its_dollar_value() -> None:
    assert csv_import.import_rates("currency,day,rate\nJPY,2026-01-01,0.0067\n").imported == 1
    header = "customer_id,email,invoice_id,currency,amount,tax,"
    header += "period_start,period_end,plan,interval,status"
    row = "c1,ada@example.com,inv_1,JPY,4900,0,2026-01-01,2026-02-01,Pro,month,paid"
    assert csv_import.import_invoices(f"{header}\n{row}\n").imported == 1
    result = engine.compute(ledger_from_db(True, through=date(2026, 1, 31)))
    assert [f"{float(v) / 100:.2f}" for v in result.month_end(0)][-1] == "32.83"


def test_it_knows_stripes_zero_decimal_currencies() -> None:
    assert STRIPE_ZERO_DECIMAL <= ZERO_DECIMAL
    assert [exponent("JPY"), exponent("XPF"), exponent("USD"), exponent("ISK")] == [0, 0, 2, 2]
    assert str(Money(4900, "VUV")) == "4,900 VUV"


def test_it_knows_stripes_three_decimal_currencies() -> None:
    assert [exponent(c) for c in ("BHD", "JOD", "KWD", "OMR", "TND", "kwd")] == [3] * 6
    assert str(Money(5124, "KWD")) == "5.124 KWD"


def test_it_converts_a_dinar_amount_at_the_rate_per_dinar() -> None:
    books = Books("2026-01", "2026-01")
    books.rate("KWD", "2026-01-01", "3.25")
    books.bill("D", "2026-01-01", 12500, currency="KWD")
    # 12.500 KWD x 3.25 USD/dinar = 40.625 USD: 4062.5 cents, kept exact by the engine.
    result = engine.compute(books.ledger)
    assert result.month_end(result.customers.index("D")) == [Fraction(8125, 2)]


@pytest.mark.django_db
def test_it_imports_an_invoice_with_three_decimals() -> None:
    assert csv_import.import_rates("currency,day,rate\nKWD,2026-01-01,3.25\n").imported == 1
    header = "customer_id,email,invoice_id,currency,amount,tax,"
    header += "period_start,period_end,plan,interval,status"
    row = "c1,ada@example.com,inv_1,KWD,12.500,0,2026-01-01,2026-02-01,Pro,month,paid"
    assert csv_import.import_invoices(f"{header}\n{row}\n").imported == 1
    result = engine.compute(ledger_from_db(True, through=date(2026, 1, 31)))
    assert result.month_end(0)[-1] == Fraction(8125, 2)


@pytest.mark.django_db
def test_it_refuses_four_decimals_for_a_three_decimal_currency() -> None:
    header = "customer_id,email,invoice_id,currency,amount,tax,"
    header += "period_start,period_end,plan,interval,status"
    row = "c1,ada@example.com,inv_1,KWD,12.5001,0,2026-01-01,2026-02-01,Pro,month,paid"
    report = csv_import.import_invoices(f"{header}\n{row}\n")
    assert report.imported == 0
    assert report.rejected == [
        (2, "amount '12.5001' is not an amount ≥ 0 with at most 3 decimals for KWD")
    ]
