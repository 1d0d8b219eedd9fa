"""The stored billing with one bad customer: `ledger_from_db` leaves that customer out with the
record and the reason, and everyone else's MRR is computed (quarantine, not blackout)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
import time_machine

from founderops.revenue import engine, stripe_store
from founderops.revenue.ledger import ledger_from_db, problems
from founderops.revenue.models import FxRate
from tests.revenue import fake_stripe as fs

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 4, 10, 12, 0, tzinfo=UTC)
MAR, APR = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def store(*objs: dict[str, Any]) -> None:
    for obj in objs:
        stripe_store.store(obj, stripe_store.Context(False, fs.ts(NOW)))


@pytest.fixture(autouse=True)
def _ada() -> None:
    """Ada pays $20 a month from March: the customer whose figures must survive."""
    store(
        fs.product(),
        fs.price("price_pro", 2000),
        fs.price("price_eur", 1000, currency="eur"),
        fs.invoice("in_ada", "cus_ada", [fs.line("il_ada", 2000, MAR, APR)], MAR),
    )


def bob(number: int, *lines: dict[str, Any], sub: str = "sub_bob", **fields: Any) -> None:
    store(fs.invoice(f"in_{number}", "cus_bob", list(lines), MAR, subscription_id=sub, **fields))


def line(number: int, amount: int, sub: str = "sub_bob", **fields: Any) -> dict[str, Any]:
    return fs.line(f"il_{number}", amount, MAR, APR, subscription_id=sub, **fields)


def ada_mrr() -> list[int]:
    """Ada's MRR at the end of March and of April (her subscription ended with March)."""
    result = engine.compute(ledger_from_db(livemode=False))
    return [int(v) for v in result.month_end(result.customers.index("cus_ada"))]


def test_it_leaves_out_a_customer_billed_in_a_second_currency() -> None:
    FxRate.objects.create(currency="EUR", day=date(2026, 1, 1), rate="1.10")
    bob(1, line(1, 1000, sub="sub_usd"), sub="sub_usd")
    bob(2, line(2, 1000, sub="sub_eur", price_id="price_eur"), sub="sub_eur", currency="eur")
    ledger = ledger_from_db(livemode=False)
    assert [(e.customer, str(e)) for e in ledger.excluded] == [
        ("cus_bob", "billed in USD and EUR; one currency per customer (subscription sub_eur)")
    ]
    assert (ledger.customers, ada_mrr()) == (["cus_ada"], [2000, 0])


def test_it_leaves_out_a_customer_whose_invoice_adds_up_below_zero() -> None:
    bob(1, line(1, 1000), line(2, -2000))
    ledger = ledger_from_db(livemode=False)
    [excluded] = ledger.excluded
    assert (excluded.customer, excluded.record) == ("cus_bob", "invoice in_1")
    assert "negative MRR" in excluded.reason
    assert ada_mrr() == [2000, 0]


def test_it_leaves_out_a_customer_refunded_beyond_an_invoice() -> None:
    bob(1, line(1, 1000))
    store(fs.charge("ch_1", 5000, customer_id="cus_bob", invoice="in_1"))
    store(fs.refund("re_1", "ch_1", 3000))
    ledger = ledger_from_db(livemode=False)
    assert [str(e) for e in ledger.excluded] == [
        "refunds of 30.00 USD exceed what an invoice charged (10.00 USD before tax) (invoice in_1)"
    ]
    assert (ledger.refunds, ada_mrr()) == ([], [2000, 0])


def test_it_leaves_out_a_customer_whose_currency_has_no_rate() -> None:
    bob(1, line(1, 1000, price_id="price_eur"), currency="eur")
    ledger = ledger_from_db(livemode=False)
    assert [(e.customer, e.record) for e in ledger.excluded] == [("cus_bob", "invoice in_1")]
    assert ada_mrr() == [2000, 0]


def test_it_leaves_out_a_customer_whose_price_interval_cannot_be_expressed() -> None:
    store(fs.price("price_long", 1000, interval="year", interval_count=5))
    bob(1, line(1, 1000, price_id="price_long"))
    ledger = ledger_from_db(livemode=False)
    [excluded] = ledger.excluded
    assert (excluded.customer, excluded.record) == ("cus_bob", "invoice in_1 line il_1")
    assert "price price_long bills every 5 year(s)" in excluded.reason
    assert ada_mrr() == [2000, 0]


def test_it_counts_a_weekly_price_instead_of_leaving_it_out() -> None:
    store(fs.price("price_week", 700, interval="week"))
    last_week = datetime(2026, 3, 25, tzinfo=UTC)
    bob(1, fs.line("il_w", 700, last_week, APR, subscription_id="sub_bob", price_id="price_week"))
    ledger = ledger_from_db(livemode=False)
    result = engine.compute(ledger)
    assert ledger.excluded == []
    # 700 cents a week, 52 weeks in 12 months: 3,033.33 cents at the end of March.
    assert result.month_end(result.customers.index("cus_bob"))[0] * 12 == 700 * 52


def test_it_lists_left_out_customers_among_the_problems() -> None:
    bob(1, line(1, 1000), line(2, -2000))
    found = problems(livemode=False)
    assert found[0].startswith(
        "customer cus_bob is left out of the figures: an invoice's lines add up to a negative MRR"
    )


def test_it_lists_the_problems_of_the_ledger_it_is_given() -> None:
    bob(1, line(1, 1000), line(2, -2000))
    clean = ledger_from_db(livemode=False)
    clean.excluded = []
    assert not any("left out" in p for p in problems(livemode=False, records=clean))
