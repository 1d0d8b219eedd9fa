"""The incremental update equals a full computation of the extended book."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import date
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from founderops.revenue import engine
from founderops.revenue.billing import FxRate, Ledger
from founderops.revenue.book import day_number, from_ledger, split
from founderops.revenue.engine import Result, Settings
from tests.revenue.ledgers import Books, column
from tests.revenue.test_bridge_property import PROPERTY, SETTINGS, histories


def _same(updated: Result, computed: Result) -> dict[str, bool]:
    return {
        f.name: getattr(updated.block, f.name).tolist() == getattr(computed.block, f.name).tolist()
        for f in fields(updated.block)
    }


@PROPERTY
@given(histories(), SETTINGS, st.floats(0, 1))
def test_it_equals_a_full_computation_wherever_the_day_falls(
    ledger: Ledger, chosen: Settings, where: float
) -> None:
    book = from_ledger(ledger)
    day = book.first + 1 + int(where * (book.days - 1))
    base, batch = split(book, day)
    updated = engine.update(engine.compute(base, chosen), batch)
    assert all(_same(updated, engine.compute(book, chosen)).values())


def _two_customers() -> Books:
    # A pays 100.00 monthly from January and stops after February; B joins on March 10.
    books = Books("2025-01", "2025-03")
    books.bill("A", "2025-01-01", 10000, count=2)
    books.bill("B", "2025-03-10", 5000)
    return books


def _update_on(books: Books, day: str) -> Result:
    book = from_ledger(books.ledger)
    base, batch = split(book, day_number(date.fromisoformat(day)))
    return engine.update(engine.compute(base), batch)


def test_it_adds_a_new_customer_invoiced_on_the_new_day() -> None:
    result = _update_on(_two_customers(), "2025-03-10")
    assert column(result, "new") == ["100.00", "0.00", "50.00"]


def test_it_recognises_a_churn_on_the_new_day_for_a_customer_without_new_invoices() -> None:
    # A's last period ends on 03-01: the update to 03-01 must see it although A has no invoice.
    result = _update_on(_two_customers(), "2025-03-02")
    assert column(result, "churn") == ["0.00", "0.00", "100.00"]


def test_it_opens_a_month_the_new_day_starts() -> None:
    result = _update_on(_two_customers(), "2025-03-01")
    assert [m.month for m in result.months] == [
        date(2025, 1, 1),
        date(2025, 2, 1),
        date(2025, 3, 1),
    ]


def test_it_recomputes_everything_when_a_new_rate_changes_the_unit() -> None:
    books = Books("2025-01", "2025-02")
    books.bill("H", "2025-01-01", 10000, count=2, currency="EUR")
    books.rate("EUR", "2024-12-31", "1.1")
    book = from_ledger(books.ledger)
    base, batch = split(book, book.first + 31)
    finer = FxRate("EUR", date(2025, 2, 1), Fraction("1.0834"))
    batch = replace(batch, rates=(*batch.rates, finer))
    updated = engine.update(engine.compute(base), batch)
    # 1.0834 = 5417/5000: the unit becomes 1/(12 x 5000) of a cent.
    assert (updated.scale, column(updated, "fx")) == (12 * 5000, ["0.00", "-1.66"])


def test_it_keeps_the_range_when_the_batch_only_backfills() -> None:
    books = _two_customers()
    book = from_ledger(books.ledger)
    base, batch = split(book, book.first + 40)
    updated = engine.update(engine.compute(base), replace(batch, days=base.days))
    assert (updated.calendar.days, column(updated, "new")) == (base.days, ["100.00", "0.00"])
