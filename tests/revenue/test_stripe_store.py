"""Stripe objects into rows: both API shapes, newest snapshot wins, references become stubs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from founderops.core.errors import InvalidInput
from founderops.customers import services as customers
from founderops.customers.models import Customer
from founderops.revenue import stripe_store
from founderops.revenue.models import (
    BillingCustomer,
    Charge,
    Coupon,
    Invoice,
    Price,
    Subscription,
)
from tests.revenue import fake_stripe as fs

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


MARCH = datetime(2026, 3, 1, tzinfo=UTC)
APRIL = datetime(2026, 4, 1, tzinfo=UTC)


def store(obj: dict[str, Any], version: int = 100, **context: Any) -> stripe_store.Stored:
    return stripe_store.store(obj, stripe_store.Context(False, version, **context))


def older_shape_invoice() -> dict[str, Any]:
    """An invoice as API versions before 2025 sent it."""
    invoice = fs.invoice("in_1", "cus_ada", [fs.line("il_1", 2000, MARCH, APRIL)], MARCH)
    line = invoice["lines"]["data"][0]
    for key in ("parent", "pricing", "taxes"):
        del line[key]
    line |= {
        "type": "subscription",
        "subscription": "sub_1",
        "subscription_item": "si_1",
        "proration": False,
        "price": fs.price("price_pro"),
        "tax_amounts": [{"amount": 400, "inclusive": False, "tax_rate": "txr_1"}],
    }
    for key in ("parent", "total_taxes"):
        del invoice[key]
    return invoice | {"subscription": "sub_1", "tax": 400}


def test_it_reads_an_invoice_in_the_older_api_shape() -> None:
    store(older_shape_invoice())
    invoice = Invoice.objects.get()
    assert (invoice.subscription.stripe_id, invoice.tax) == ("sub_1", 400)  # type: ignore[union-attr]
    line = invoice.lines.get()
    assert (line.kind, line.subscription_stripe_id, line.tax_exclusive) == (
        "subscription",
        "sub_1",
        400,
    )
    assert line.price == Price.objects.get(unit_amount=2000, interval="month")


def test_it_reads_an_invoice_in_the_newer_api_shape() -> None:
    store(fs.invoice("in_1", "cus_ada", [fs.line("il_1", 2000, MARCH, APRIL, tax=400)], MARCH))
    invoice = Invoice.objects.get()
    assert (invoice.subscription.stripe_id, invoice.tax) == ("sub_1", 400)  # type: ignore[union-attr]
    line = invoice.lines.get()
    assert line.price is not None
    assert (line.price.stripe_id, line.price.needs_fetch, line.tax_exclusive) == (
        "price_pro",
        True,
        400,
    )


def test_it_reads_a_legacy_plan_as_a_price() -> None:
    plan = fs.shape(
        "plan",
        id="plan_gold",
        amount=5000,
        interval="year",
        interval_count=1,
        currency="usd",
        product="prod_gold",
    )
    store(plan)
    price = Price.objects.get()
    assert (price.unit_amount, price.interval, price.type, price.currency) == (
        5000,
        "year",
        "recurring",
        "USD",
    )


def test_it_does_not_overwrite_with_an_older_snapshot() -> None:
    store(fs.customer("cus_ada", email="new@example.com"), version=200)
    outcome = store(fs.customer("cus_ada", email="old@example.com"), version=100)
    assert outcome.applied is False
    assert BillingCustomer.objects.get().email == "new@example.com"


def test_it_replaces_the_lines_with_the_newer_snapshot() -> None:
    lines = [fs.line("il_1", 2000, MARCH, APRIL), fs.line("il_2", 500, MARCH, APRIL)]
    store(fs.invoice("in_1", "cus_ada", lines, MARCH), version=100)
    store(fs.invoice("in_1", "cus_ada", lines[:1], MARCH), version=200)
    assert list(Invoice.objects.get().lines.values_list("stripe_id", flat=True)) == ["il_1"]


def test_it_stores_zero_and_negative_lines_as_they_are() -> None:
    lines = [
        fs.line("il_1", 0, MARCH, APRIL),
        fs.line("il_2", -750, MARCH, APRIL, proration=True),
    ]
    store(fs.invoice("in_1", "cus_ada", lines, MARCH))
    stored = dict(Invoice.objects.get().lines.values_list("stripe_id", "amount"))
    assert stored == {"il_1": 0, "il_2": -750}
    assert Invoice.objects.get().lines.get(stripe_id="il_2").proration is True


def test_it_stores_a_100_percent_discount_on_its_line() -> None:
    line = fs.line("il_1", 2000, MARCH, APRIL, discounts=[("di_1", 2000)])
    store(fs.invoice("in_1", "cus_ada", [line], MARCH))
    stored = Invoice.objects.get()
    assert (stored.total, stored.lines.get().discount_amount) == (0, 2000)
    assert stored.lines.get().discounts == [{"discount": "di_1", "amount": 2000}]


def test_it_keeps_a_deleted_objects_last_fields() -> None:
    store(fs.customer("cus_ada"), version=100)
    store({"id": "cus_ada", "object": "customer", "deleted": True}, version=200)
    row = BillingCustomer.objects.get()
    assert (row.deleted, row.email) == (True, "ada@example.com")


def test_it_keeps_a_percent_off_exactly() -> None:
    store(fs.coupon("ODD", 25.5, "forever"))
    assert Coupon.objects.get().percent_off == Decimal("25.5")


def test_it_refuses_an_object_type_it_does_not_store() -> None:
    with pytest.raises(stripe_store.UnsupportedObject, match="payment_intent"):
        store(fs.shape("payment_intent", id="pi_1"))


def test_it_refuses_an_amount_that_is_not_whole_minor_units() -> None:
    with pytest.raises(InvalidInput, match=r"^charge ch_1: amount 10\.5 is not a whole number$"):
        store(fs.charge("ch_1", 10.5))  # type: ignore[arg-type]
    assert Charge.objects.count() == 0


def test_it_links_a_customer_by_the_stripe_identity_the_founder_gave() -> None:
    known = customers.find_or_create_customer("billing@acme.example")
    customers.add_identity(known, "stripe", "cus_ada")
    store(fs.customer("cus_ada", email="someone.else@example.com"))
    assert BillingCustomer.objects.get().customer == known


def test_it_leaves_a_customer_without_an_email_unlinked() -> None:
    store(fs.customer("cus_ada", email=None))
    assert BillingCustomer.objects.get().customer is None
    assert Customer.objects.count() == 0


def test_it_makes_a_stub_for_a_subscription_known_only_from_an_invoice() -> None:
    store(fs.invoice("in_1", "cus_ada", [fs.line("il_1", 2000, MARCH, APRIL)], MARCH))
    stub = Subscription.objects.get()
    assert (stub.stripe_id, stub.needs_fetch, stub.customer.stripe_id) == (  # type: ignore[union-attr]
        "sub_1",
        True,
        "cus_ada",
    )


def test_it_reads_a_timestamp_written_in_exponent_form() -> None:
    store(fs.invoice("in_1", "cus_ada", [], MARCH) | {"period_start": 1.7723232e9})
    assert Invoice.objects.get().period_start == datetime(2026, 3, 1, tzinfo=UTC)


def test_it_refuses_a_count_beyond_what_postgresql_holds() -> None:
    with pytest.raises(
        stripe_store.MalformedObject,
        match=r"^invoice in_1: attempt_count 2147483648 is out of range \(0 to 2147483647\)$",
    ):
        store(fs.invoice("in_1", "cus_ada", [], MARCH) | {"attempt_count": 2**31})


def test_it_refuses_taxes_that_add_up_beyond_what_the_column_holds() -> None:
    taxes = [{"amount": 2**62, "tax_behavior": "exclusive"}] * 2
    with pytest.raises(stripe_store.MalformedObject, match=r"^invoice in_1: tax 9\.22e18 is out"):
        store(fs.invoice("in_1", "cus_ada", [], MARCH) | {"total_taxes": taxes})


def test_it_refuses_a_percent_off_above_100() -> None:
    with pytest.raises(
        stripe_store.MalformedObject, match=r"^coupon C: percent_off 150 is not a percentage"
    ):
        store(fs.coupon("C", 150, "once"))


def test_it_refuses_an_id_longer_than_its_column() -> None:
    with pytest.raises(stripe_store.MalformedObject, match="is longer than 255 characters"):
        store(fs.customer("cus_" + "x" * 300))
    assert BillingCustomer.objects.count() == 0


def test_it_refuses_a_line_id_longer_than_its_column() -> None:
    line = fs.line("il_" + "x" * 253, 2000, MARCH, APRIL, item="si_1")
    with pytest.raises(
        stripe_store.MalformedObject, match=r": id 'il_x+\.\.\. is longer than 255 characters$"
    ):
        store(fs.invoice("in_1", "cus_ada", [line], MARCH))
    assert Invoice.objects.count() == 0


def test_it_keeps_two_line_ids_of_the_longest_length_that_share_a_prefix_apart() -> None:
    prefix = "il_" + "x" * 251
    lines = [fs.line(prefix + last, 1000, MARCH, APRIL, item="si_1") for last in ("a", "b")]
    store(fs.invoice("in_1", "cus_ada", lines, MARCH))
    stored = Invoice.objects.get().lines.order_by("stripe_id")
    assert list(stored.values_list("stripe_id", flat=True)) == [prefix + "a", prefix + "b"]


def test_it_refuses_an_object_of_the_other_mode() -> None:
    with pytest.raises(
        stripe_store.MalformedObject,
        match=r"^customer cus_1: a live-mode object among test-mode data: refused, so that test "
        r"and live data never mix$",
    ):
        store(fs.customer("cus_1", livemode=True))
    assert BillingCustomer.objects.count() == 0


def test_it_refuses_an_expanded_object_of_the_other_mode() -> None:
    expanded = fs.customer("cus_ada", livemode=True)
    with pytest.raises(
        stripe_store.MalformedObject,
        match=r"^invoice in_1: customer cus_ada: a live-mode object among test-mode data",
    ):
        store(fs.invoice("in_1", "cus_ada", [], MARCH) | {"customer": expanded})
    assert (Invoice.objects.count(), BillingCustomer.objects.count()) == (0, 0)


def test_it_refuses_a_livemode_that_is_not_true_or_false() -> None:
    with pytest.raises(
        stripe_store.MalformedObject, match=r"^customer cus_1: livemode 'yes' is not true or false$"
    ):
        store(fs.customer("cus_1", livemode="yes"))


def test_it_stores_an_object_that_does_not_say_its_mode() -> None:
    store({k: v for k, v in fs.customer("cus_1").items() if k != "livemode"})
    assert BillingCustomer.objects.get().livemode is False


def test_it_refuses_two_lines_with_the_same_id() -> None:
    lines = [fs.line("il_1", 2000, MARCH, APRIL), fs.line("il_1", 500, MARCH, APRIL)]
    with pytest.raises(
        stripe_store.MalformedObject, match=r"^invoice in_1: lines holds 'il_1' twice$"
    ):
        store(fs.invoice("in_1", "cus_ada", lines, MARCH))


def test_it_refuses_a_nul_character_the_database_cannot_hold() -> None:
    with pytest.raises(
        stripe_store.MalformedObject, match=r"^customer cus_1: name holds a NUL character$"
    ):
        store(fs.customer("cus_1") | {"name": "Ada\x00"})


def test_it_names_a_malformed_field_of_an_expanded_object_with_both_objects() -> None:
    expanded = fs.customer("cus_ada") | {"created": "yesterday"}
    with pytest.raises(
        stripe_store.MalformedObject,
        match=r"^invoice in_1: customer cus_ada: created 'yesterday' is not a Unix timestamp$",
    ):
        store(fs.invoice("in_1", "cus_ada", [], MARCH) | {"customer": expanded})
