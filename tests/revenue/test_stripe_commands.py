"""`founderops stripe …`: connect, backfill, reconcile and see how the sync stands."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from founderops.revenue import stripe_api, webhooks
from founderops.revenue.models import BillingCustomer, StripeEvent
from tests.revenue import fake_stripe as fs

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen(settings: Any) -> Iterator[None]:
    settings.STRIPE_API_KEY = ""
    settings.STRIPE_LIVEMODE = False
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def fake() -> Iterator[fs.FakeStripe]:
    yield from fs.installed()


def run(*args: str, stdin: str = "") -> str:
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", io.StringIO(stdin))
        call_command("stripe", *args, stdout=out)
    return out.getvalue()


def test_it_stores_a_key_read_from_standard_input_without_printing_it() -> None:
    output = run("connect", "--stdin", stdin="rk_test_FromStdin0123456789\n")
    assert output.splitlines()[0] == "Stored the test-mode API key (encrypted)."
    assert "rk_test_FromStdin0123456789" not in output
    assert stripe_api.api_key(livemode=False) == "rk_test_FromStdin0123456789"


def test_it_refuses_an_empty_key() -> None:
    with pytest.raises(CommandError, match="nothing was entered"):
        run("connect", "--stdin", stdin="\n")


def test_it_refuses_a_key_with_a_space_without_printing_it() -> None:
    with pytest.raises(CommandError, match=r"^not a Stripe API key: after sk_live_") as caught:
        run("connect", "--stdin", stdin="sk_live_Abcdef ghijklmnop\n")
    assert "Abcdef" not in str(caught.value)


def test_it_refuses_a_key_of_thousands_of_characters_without_storing_it() -> None:
    with pytest.raises(CommandError, match=r"^not a Stripe API key: it is 5,008 characters"):
        run("connect", "--stdin", stdin="sk_live_" + "a" * 5000 + "\n")
    assert stripe_api.configured_modes() == []


def test_it_refuses_standard_input_of_two_lines_without_showing_them() -> None:
    two = "rk_test_First0123456789\nrk_test_Second0123456789\n"
    with pytest.raises(CommandError, match="standard input holds 2 non-empty lines") as caught:
        run("connect", "--stdin", stdin=two)
    assert "0123456789" not in str(caught.value)
    assert stripe_api.configured_modes() == []


def test_it_takes_the_one_line_among_blank_ones() -> None:
    run("connect", "--stdin", stdin="\n  rk_test_FromStdin0123456789  \r\n\n")
    assert stripe_api.api_key(livemode=False) == "rk_test_FromStdin0123456789"


def test_it_refuses_a_webhook_secret_of_two_lines() -> None:
    with pytest.raises(CommandError, match="standard input holds 2 non-empty lines"):
        run("webhook-secret", "--live", "--stdin", stdin="whsec_A0123456789\nwhsec_B0123456789")


def test_it_points_a_webhook_secret_given_to_connect_to_webhook_secret() -> None:
    with pytest.raises(CommandError, match="use `founderops stripe webhook-secret`"):
        run("connect", "--stdin", stdin="whsec_Signing0123456789\n")


def test_it_refuses_a_bare_webhook_secret_prefix() -> None:
    with pytest.raises(CommandError, match=r"^not a Stripe webhook signing secret: whsec_ is"):
        run("webhook-secret", "--live", "--stdin", stdin="whsec_\n")


def test_it_stores_a_webhook_secret_for_the_mode_asked() -> None:
    secret = "whsec_LiveEndpoint0123456789"
    run("webhook-secret", "--live", "--stdin", stdin=f"{secret}\n")
    assert webhooks.webhook_secrets() == [webhooks.Secret(secret, livemode=True)]


def test_it_backfills_from_the_command(fake: fs.FakeStripe) -> None:
    run("connect", "--stdin", stdin=f"{fs.KEY}\n")
    fake.add("customers", fs.customer("cus_ada"))
    output = run("sync", "--only", "customers")
    assert output.splitlines() == [
        "customers: 1",
        "Stripe test mode: stored 1 customers; 0 kept newer",
    ]
    assert BillingCustomer.objects.count() == 1


def test_it_says_what_to_do_without_a_key() -> None:
    with pytest.raises(CommandError, match="run `founderops stripe connect`"):
        run("sync")


def test_it_shows_the_status_of_each_mode(fake: fs.FakeStripe) -> None:
    run("connect", "--stdin", stdin=f"{fs.KEY}\n")
    fake.add("customers", fs.customer("cus_ada"))
    run("sync", "--only", "customers")
    output = run("status")
    assert "live mode: key not configured" in output
    assert "test mode: key stored (encrypted)" in output
    assert "  stored: 1 customer" in output
    assert "  backfilled: 2026-03-10 12:00:00+00:00" in output


def test_it_lists_failed_events_with_their_error() -> None:
    event = fs.event("evt_1", "invoice.paid", {"object": "invoice"}, NOW)
    row, _ = webhooks.store_event(event, json.dumps(event), StripeEvent.Via.WEBHOOK, queue=False)
    webhooks.process_event(row.pk)
    output = run("events", "--failed")
    assert output.startswith("2026-03-10 12:00:00 evt_1 invoice.paid [failed, webhook]  ")
    assert "without an id" in output


def test_it_says_when_there_are_no_events_yet() -> None:
    assert run("events") == "No events yet.\n"


def test_it_says_when_no_event_failed() -> None:
    event = fs.event("evt_1", "customer.created", fs.customer("cus_ada"), NOW)
    row, _ = webhooks.store_event(event, json.dumps(event), StripeEvent.Via.WEBHOOK, queue=False)
    webhooks.process_event(row.pk)
    assert run("events", "--failed") == "No failed events.\n"


def test_it_retries_waiting_events_and_fails_when_one_fails_again() -> None:
    event = fs.event("evt_1", "invoice.paid", {"object": "invoice"}, NOW)
    webhooks.store_event(event, json.dumps(event), StripeEvent.Via.WEBHOOK, queue=False)
    with pytest.raises(CommandError, match="some events failed: see"):
        run("retry", "--test")
    assert StripeEvent.objects.get().status == "failed"


def test_it_counts_what_retry_processed_and_what_failed() -> None:
    event = fs.event("evt_1", "invoice.paid", {"object": "invoice"}, NOW)
    webhooks.store_event(event, json.dumps(event), StripeEvent.Via.WEBHOOK, queue=False)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("stripe", "retry", "--test", stdout=out)
    assert out.getvalue().splitlines()[0] == "1 pending or failed events processed, 1 failed."


def test_it_refuses_an_unknown_list_before_asking_for_a_key() -> None:
    known = "no Stripe list called 'bogus'; known: products, prices, "
    with pytest.raises(CommandError, match=known):
        run("sync", "--only", "customers,bogus")


def test_it_shows_where_each_modes_webhook_secret_comes_from(settings: Any) -> None:
    settings.STRIPE_WEBHOOK_SECRET = ["live:whsec_from_env"]
    run("webhook-secret", "--test", "--stdin", stdin="whsec_Stored0123456789\n")
    output = run("status")
    assert "  webhook secret: from FOUNDEROPS_STRIPE_WEBHOOK_SECRET" in output
    assert "  webhook secret: stored (encrypted)" in output
    assert "whsec_" not in output


def test_it_says_when_a_mode_has_no_webhook_secret(settings: Any) -> None:
    settings.STRIPE_WEBHOOK_SECRET = []
    assert "  webhook secret: not configured" in run("status")


@pytest.mark.parametrize("limit", ["-1", "0", "lots"])
def test_it_refuses_an_events_limit_below_one(limit: str) -> None:
    with pytest.raises(CommandError, match="is not a whole number from 1 to 1,000,000"):
        call_command("stripe", "events", "--limit", limit)
