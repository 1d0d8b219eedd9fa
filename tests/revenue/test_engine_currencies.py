"""Currencies without a minor unit (JPY, KRW, ...): a rate is per yen, an amount is in yen."""

from __future__ import annotations

from datetime import date

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
    assert str(Money(4900, "VUV")) == "4900 VUV"
