"""`founderops bench ledger` on small histories: its bulk load stores what the real backfill
stores (as far as the ledger reads), and the command prints its figures (speed is measured,
never asserted)."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import transaction

from founderops.cli import demo_billing, ledger_bench
from founderops.revenue import billing
from founderops.revenue.ledger import ledger_from_db
from founderops.revenue.models import BillingCustomer, Invoice, InvoiceLine

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SMALL = ledger_bench.Shape(customers=60, months=10, seed=5)


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def merged(shape: ledger_bench.Shape) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for objects in ledger_bench.chunks(shape, NOW):
        for name, items in objects.items():
            out[name] += items
    return dict(out)


def through_backfill(shape: ledger_bench.Shape) -> billing.Ledger:
    """The ledger of the same history stored by the real backfill, then rolled back."""
    with transaction.atomic():
        demo_billing.import_rates(ledger_bench.rates(shape, NOW))
        demo_billing.backfill(merged(shape))
        records = ledger_from_db(True)
        transaction.set_rollback(True)
    return records


def test_it_stores_what_the_real_backfill_stores() -> None:
    expected = through_backfill(SMALL)
    ledger_bench.load(SMALL, NOW)
    assert ledger_from_db(True) == expected


def test_it_makes_a_history_with_prorations_refunds_and_write_offs() -> None:
    ledger_bench.load(SMALL, NOW)
    records = ledger_from_db(True)
    kinds = (
        InvoiceLine.objects.filter(proration=True).exists(),
        bool(records.refunds),
        Invoice.objects.filter(status="uncollectible").exists(),
        {i.currency for i in records.invoices},
    )
    assert kinds == (True, True, True, {"USD", "EUR"})


def test_it_generates_the_same_history_for_the_same_seed() -> None:
    assert merged(SMALL) == merged(SMALL)


def test_it_spreads_sign_ups_over_the_months() -> None:
    ledger_bench.load(SMALL, NOW)
    starts = [s.started_at for s in ledger_from_db(True).subscriptions.values()]
    assert (NOW - min(starts)).days > 8 * 30


def test_it_prints_one_json_object_from_the_command() -> None:
    out = io.StringIO()
    call_command("bench", "ledger", "--customers", "30", "--months", "3", stdout=out)
    report = json.loads(out.getvalue())
    assert set(report) >= {"ledger_from_db", "from_ledger", "compute", "snapshot", "page"}


def test_it_refuses_a_database_with_billing() -> None:
    BillingCustomer.objects.create(livemode=True, stripe_id="cus_real", synced_at=NOW)
    with pytest.raises(CommandError, match="already holds billing"):
        call_command("bench", "ledger", "--customers", "5")


def test_it_refuses_zero_customers() -> None:
    with pytest.raises(CommandError, match="at least 1"):
        call_command("bench", "ledger", "--customers", "0")
