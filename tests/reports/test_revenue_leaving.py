"""Who is on the way out: a cancellation at period end, or a subscription canceled at once whose
last paid period still runs (its MRR counts until that period ends)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from founderops.reports.revenue import ended_in_paid_time, leaving_subscriptions
from founderops.revenue.models import BillingCustomer, Subscription

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)


def customer(key: str) -> BillingCustomer:
    return BillingCustomer.objects.create(
        livemode=True, stripe_id=key, synced_at=NOW, created=NOW - timedelta(days=90)
    )


def subscription(key: str, owner: BillingCustomer | None, **fields: object) -> Subscription:
    values: dict[str, object] = {
        "status": "active",
        "created": NOW - timedelta(days=60),
        "current_period_end": NOW + timedelta(days=20),
        **fields,
    }
    return Subscription.objects.create(
        livemode=True, stripe_id=key, customer=owner, synced_at=NOW, **values
    )


def canceled_at_once(key: str, owner: BillingCustomer | None, **fields: object) -> Subscription:
    moment = NOW - timedelta(days=2)
    return subscription(
        key, owner, status="canceled", canceled_at=moment, ended_at=moment, **fields
    )


def test_it_finds_a_subscription_canceled_at_once_whose_paid_period_still_runs() -> None:
    canceled_at_once("sub_sam", customer("cus_sam"))
    assert ended_in_paid_time(True, NOW) == [("cus_sam", NOW + timedelta(days=20))]


def test_it_leaves_out_one_whose_paid_period_is_over() -> None:
    canceled_at_once("sub_old", customer("cus_old"), current_period_end=NOW - timedelta(days=1))
    assert ended_in_paid_time(True, NOW) == []


def test_it_leaves_out_a_customer_with_another_subscription_running() -> None:
    ada = customer("cus_ada")
    canceled_at_once("sub_old", ada)
    subscription("sub_new", ada)
    assert ended_in_paid_time(True, NOW) == []


def test_it_is_not_fooled_by_a_running_subscription_without_a_customer() -> None:
    subscription("sub_orphan", None)
    canceled_at_once("sub_sam", customer("cus_sam"))
    assert [key for key, _ in ended_in_paid_time(True, NOW)] == ["cus_sam"]


def test_it_leaves_out_a_cancellation_made_after_the_moment() -> None:
    canceled_at_once("sub_sam", customer("cus_sam"))
    assert ended_in_paid_time(True, NOW - timedelta(days=3)) == []


def test_it_lists_both_kinds_of_leaving_for_a_past_moment() -> None:
    canceled_at_once("sub_sam", customer("cus_sam"))
    subscription(
        "sub_isa",
        customer("cus_isa"),
        canceled_at=NOW - timedelta(days=1),
        cancel_at_period_end=True,
    )
    found = sorted(key or "" for key, _ in leaving_subscriptions(True, NOW))
    assert found == ["cus_isa", "cus_sam"]
