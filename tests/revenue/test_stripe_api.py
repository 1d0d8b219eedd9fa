"""The seam to Stripe: the official client, its HTTP through core.http, keys per mode."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured

from founderops import settings as settings_module
from founderops.core.errors import InvalidInput
from founderops.core.models import AuditEvent
from founderops.revenue import stripe_api
from founderops.revenue.models import StripeAccount
from tests.revenue import fake_stripe as fs

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def fake() -> Iterator[fs.FakeStripe]:
    yield from fs.installed()


def test_it_sends_stripe_requests_through_the_core_http_transport(
    fake: fs.FakeStripe,
) -> None:
    fake.add("customers", fs.customer("cus_ada"))
    customer = stripe_api.client(key=fs.KEY).v1.customers.retrieve("cus_ada")
    assert customer.email == "ada@example.com"
    request = fake.requests[0]
    assert (request.url.host, request.url.path) == ("api.stripe.com", "/v1/customers/cus_ada")
    assert request.headers["Authorization"] == f"Bearer {fs.KEY}"


def test_it_posts_form_bodies_as_content(fake: fs.FakeStripe) -> None:
    fake.created["/v1/refunds"] = fs.refund("re_1", "ch_1", 500)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        refund = stripe_api.client(key=fs.KEY).v1.refunds.create({"charge": "ch_1", "amount": 500})
    assert refund.id == "re_1"
    assert fake.requests[0].content == b"charge=ch_1&amount=500"


def test_it_turns_sdk_objects_into_plain_dicts(fake: fs.FakeStripe) -> None:
    fake.add("prices", fs.price("price_pro"))
    price = stripe_api.client(key=fs.KEY).v1.prices.retrieve("price_pro")
    plain = stripe_api.as_dict(price)
    assert type(plain) is dict
    assert type(plain["recurring"]) is dict
    assert plain["recurring"]["interval"] == "month"


def test_it_takes_the_key_from_the_setting_for_its_mode(settings: Any) -> None:
    settings.STRIPE_API_KEY = "rk_test_from_settings"
    assert stripe_api.api_key(livemode=False) == "rk_test_from_settings"


def test_it_uses_the_stored_key_when_the_setting_is_for_the_other_mode(settings: Any) -> None:
    settings.STRIPE_API_KEY = "rk_test_from_settings"
    stripe_api.connect("rk_live_stored", actor="cli")
    assert stripe_api.api_key(livemode=True) == "rk_live_stored"
    assert stripe_api.configured_modes() == [True, False]


def test_it_stores_the_key_sealed(settings: Any) -> None:
    settings.STRIPE_API_KEY = ""
    stripe_api.connect("  rk_test_stored\n", actor="cli")
    sealed = StripeAccount.objects.get(livemode=False).api_key_sealed
    assert "rk_test_stored" not in sealed
    assert stripe_api.api_key(livemode=False) == "rk_test_stored"


def test_it_never_audits_the_key(settings: Any) -> None:
    stripe_api.connect("rk_live_very_secret", actor="cli")
    event = AuditEvent.objects.get(action="revenue.stripe_key_stored")
    assert "very_secret" not in f"{event.outcome} {event.details}"
    assert event.outcome == "rk_live"


def test_it_says_how_to_configure_a_missing_key(settings: Any) -> None:
    settings.STRIPE_API_KEY = ""
    with pytest.raises(stripe_api.StripeNotConfigured, match="FOUNDEROPS_STRIPE_API_KEY"):
        stripe_api.client(livemode=True)


def test_it_refuses_to_store_something_that_is_not_a_key() -> None:
    with pytest.raises(InvalidInput, match="not a Stripe API key"):
        stripe_api.connect("pk_live_publishable", actor="cli")


def test_it_refuses_a_webhook_secret_that_is_not_one() -> None:
    with pytest.raises(InvalidInput, match="whsec_"):
        stripe_api.store_webhook_secret("rk_live_oops", livemode=True, actor="cli")


def test_it_refuses_a_setting_that_is_not_a_stripe_key() -> None:
    with pytest.raises(ImproperlyConfigured, match="not a Stripe API key") as caught:
        settings_module.check_stripe_key("pk_live_abcdef", "STRIPE_API_KEY")
    assert "abcdef" not in str(caught.value)


def test_it_refuses_a_key_of_the_other_mode_than_livemode() -> None:
    with pytest.raises(ImproperlyConfigured, match="FOUNDEROPS_STRIPE_LIVEMODE"):
        settings_module.check_stripe_mode("rk_test_abc", livemode=True)


def test_it_accepts_a_key_of_the_same_mode() -> None:
    settings_module.check_stripe_mode("rk_test_abc", livemode=False)
    settings_module.check_stripe_mode("sk_live_abc", livemode=True)
