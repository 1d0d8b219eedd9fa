"""The customers' stories as the billing history plans them: what a ticket says matches the
dates of the Stripe objects it speaks of, whatever day the demo is loaded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from founderops.cli import demo, demo_revenue, demo_stripe

SAM = "cus_ink0017"
# Days whose renewal, a day before Sam's ticket, falls on a 31st (after a month of 30 days),
# on the 29th of February, on New Year's Eve, on a 30th, and on an ordinary day.
NOWS = [
    datetime(2026, 4, 3, 14, 40, tzinfo=UTC),
    datetime(2028, 3, 3, 14, 40, tzinfo=UTC),
    datetime(2027, 1, 4, 2, 40, tzinfo=UTC),
    datetime(2026, 5, 3, 16, 40, tzinfo=UTC),
    datetime(2026, 2, 28, 10, 40, tzinfo=UTC),
]


def people(now: datetime) -> dict[str, demo_revenue.Person]:
    rows = [(row.name, row.email) for row in demo.read_customers()]
    return demo_revenue.inkwell_people(now, rows)


def sams_ticket() -> demo.TicketRow:
    return next(row for row in demo.read_tickets() if row.external_id == "demo-017")


def test_it_places_sams_ticket_where_his_story_expects_it() -> None:
    assert timedelta(minutes=-sams_ticket().offset_minutes) == demo_revenue.SAMS_TICKET


@pytest.mark.parametrize("now", NOWS, ids=lambda now: f"{now:%Y-%m-%d}")
def test_it_charges_sams_renewal_exactly_a_day_before_he_writes_yesterday(now: datetime) -> None:
    assert "renewed yesterday" in sams_ticket().body
    life = demo_revenue.sams_life(now, people(now)["sam"])
    charged = life.periods[-1].start + demo_revenue.CHARGE_DELAY
    assert charged == now - demo_revenue.SAMS_TICKET - timedelta(days=1)


def test_it_is_checked_on_the_days_months_are_short_of() -> None:
    renewals = [demo_revenue.sams_life(now, people(now)["sam"]).periods[-1] for now in NOWS]
    assert [(p.start.month, p.start.day) for p in renewals[:3]] == [(3, 31), (2, 29), (12, 31)]


@pytest.mark.parametrize("now", NOWS, ids=lambda now: f"{now:%Y-%m-%d}")
def test_it_bills_sam_monthly_for_about_a_year(now: datetime) -> None:
    life = demo_revenue.sams_life(now, people(now)["sam"])
    assert 12 <= len(life.periods) <= 15
    assert all(a.end == b.start for a, b in zip(life.periods, life.periods[1:], strict=False))


def test_it_has_sam_cancel_just_before_he_writes_as_he_says() -> None:
    now = NOWS[0]
    assert "I've just cancelled my subscription" in sams_ticket().body
    life = demo_revenue.sams_life(now, people(now)["sam"])
    ticket = now - demo_revenue.SAMS_TICKET
    assert life.canceled_at is not None
    assert ticket - timedelta(hours=1) < life.canceled_at < ticket
    assert life.periods[-1].ends_early == life.canceled_at


def test_it_credits_sam_nothing_for_the_unused_time_as_the_refund_gives_it_back() -> None:
    objects = demo_stripe.stripe_objects(
        demo_revenue.plan_history(NOWS[0], [(r.name, r.email) for r in demo.read_customers()])
    )
    sams = [i for i in objects["invoices"] if i["customer"] == SAM]
    assert {i["billing_reason"] for i in sams} == {"subscription_create", "subscription_cycle"}
    (subscription,) = [s for s in objects["subscriptions"] if s["customer"] == SAM]
    assert subscription["status"] == "canceled"
