"""Billing histories for the revenue pages, briefing and demo tests, made by the product itself.

`history` loads the demo's whole generated Stripe history (about 180 customers over 18
months, through the real backfill) once for a test module, inside a transaction the module
rolls back; `small` stores a few hand-written lives through the same path for exact figures.
Import the fixtures into a test module to use them (pytest finds them there).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import transaction

from founderops.cli import demo, demo_billing, demo_stripe
from founderops.cli.demo_revenue import History, Life, Person, periods

# The demo's clock in its own tests: Monday 2 March 2026, 09:00 UTC.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def demo_customers() -> list[tuple[str, str]]:
    return [(row.name, row.email) for row in demo.read_customers()]


@pytest.fixture(scope="module")
def loaded_history(django_db_setup: None, django_db_blocker: Any) -> Iterator[int]:
    """The demo's history, stored once for the module (it takes a few seconds)."""
    with (
        django_db_blocker.unblock(),
        transaction.atomic(),
        time_machine.travel(NOW, tick=False),
    ):
        demo.load_customers(demo.read_customers())
        yield demo_billing.load(NOW, demo_customers())
        transaction.set_rollback(True)


@pytest.fixture
def history(loaded_history: int, db: None) -> Iterator[int]:
    with time_machine.travel(NOW, tick=False):
        yield loaded_history


def person(key: str, name: str, currency: str = "usd") -> Person:
    email = name.lower().replace(" ", ".") + "@example.com"
    return Person(key, name, email, currency, NOW - timedelta(days=400))


def store(people: list[Person], lives: list[Life], now: datetime) -> None:
    """A hand-written history through the real backfill."""
    found = History(now, people, lives, [])
    demo_billing.backfill(demo_stripe.stripe_objects(found))


def monthly(who: Person, start: datetime, plan: str, now: datetime, **fields: Any) -> Life:
    return Life(who.key, who.currency, periods(start, plan, "month", now), **fields)
