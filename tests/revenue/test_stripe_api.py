"""The seam to Stripe: the official client, its HTTP through core.http, keys per mode."""

from __future__ import annotations

import re
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
from founderops.revenue import keys, stripe_api
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
    stripe_api.connect("rk_live_Stored0123456789", actor="cli")
    assert stripe_api.api_key(livemode=True) == "rk_live_Stored0123456789"
    assert stripe_api.configured_modes() == [True, False]


def test_it_stores_the_key_sealed(settings: Any) -> None:
    settings.STRIPE_API_KEY = ""
    stripe_api.connect("  rk_test_Stored0123456789\n", actor="cli")
    sealed = StripeAccount.objects.get(livemode=False).api_key_sealed
    assert "rk_test_Stored0123456789" not in sealed
    assert stripe_api.api_key(livemode=False) == "rk_test_Stored0123456789"


def test_it_never_audits_the_key(settings: Any) -> None:
    stripe_api.connect("rk_live_VerySecret0123456789", actor="cli")
    event = AuditEvent.objects.get(action="revenue.stripe_key_stored")
    assert "VerySecret" not in f"{event.outcome} {event.details}"
    assert event.outcome == "rk_live"


def test_it_says_how_to_configure_a_missing_key(settings: Any) -> None:
    settings.STRIPE_API_KEY = ""
    with pytest.raises(stripe_api.StripeNotConfigured, match="FOUNDEROPS_STRIPE_API_KEY"):
        stripe_api.client(livemode=True)


def test_it_refuses_to_store_something_that_is_not_a_key() -> None:
    with pytest.raises(InvalidInput, match="not a Stripe API key"):
        stripe_api.connect("pk_live_publishable", actor="cli")


def test_it_refuses_a_webhook_secret_that_is_not_one() -> None:
    with pytest.raises(InvalidInput, match="it starts with whsec_"):
        stripe_api.store_webhook_secret("evt_oops0123456789", livemode=True, actor="cli")


def test_it_says_an_api_key_given_as_a_webhook_secret_goes_to_connect() -> None:
    with pytest.raises(InvalidInput, match="that is an API key: use `founderops stripe connect`"):
        stripe_api.store_webhook_secret("rk_live_oops0123456789", livemode=True, actor="cli")


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("whsec_Signing0123456789", "that is a webhook signing secret: use `founderops stripe "),
        ("pk_live_Publishable0123456789", "that is a publishable key; give a restricted key"),
        ("pk_test_Publishable0123456789", "that is a publishable key; give a restricted key"),
    ],
    ids=["webhook secret", "live publishable", "test publishable"],
)
def test_it_says_what_a_stripe_value_that_is_not_an_api_key_is(key: str, hint: str) -> None:
    with pytest.raises(InvalidInput, match=f"^not a Stripe API key: {re.escape(hint)}") as caught:
        stripe_api.connect(key, actor="cli")
    assert "0123456789" not in str(caught.value)
    assert StripeAccount.objects.count() == 0


def test_it_refuses_a_key_longer_than_any_stripe_issues_without_showing_it() -> None:
    key = "sk_live_" + "a" * 5000
    with pytest.raises(InvalidInput, match=r"^not a Stripe API key: it is 5,008 characters") as e:
        stripe_api.connect(key, actor="cli")
    assert "aaaaaaaaaa" not in str(e.value)
    assert "at most 255" in str(e.value)
    assert StripeAccount.objects.count() == 0


def test_it_accepts_a_key_of_the_longest_length() -> None:
    key = "rk_live_" + "A1" * 123 + "b"
    assert len(key) == keys.MAX_LENGTH
    assert keys.check_api_key(key) == key


def test_it_refuses_a_webhook_secret_longer_than_any_stripe_issues() -> None:
    with pytest.raises(InvalidInput, match="webhook signing secret: it is 256 characters long"):
        stripe_api.store_webhook_secret("whsec_" + "a" * 250, livemode=True, actor="cli")
    assert StripeAccount.objects.count() == 0


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("sk_live_", "sk_live_ is followed by 0 letters and digits"),
        ("rk_test_abc", "rk_test_ is followed by 3 letters and digits"),
        ("sk_live_" + "_" * 12, "sk_live_ is followed by 0 letters and digits"),
        ("sk_live_abcdef ghijklmnop", "after sk_live_ it holds a character other than"),
        ("sk_live_abcdefghij\x00klm", "after sk_live_ it holds a character other than"),
        ("rk_live_abcdéfghijklmnop", "after rk_live_ it holds a character other than"),
    ],
    ids=["bare prefix", "too short", "underscores only", "a space", "a NUL", "non-ASCII"],
)
def test_it_refuses_a_key_stripe_never_issues_without_showing_it(key: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=f"^not a Stripe API key: {reason}") as caught:
        stripe_api.connect(key, actor="cli")
    assert not key[8:] or key[8:] not in str(caught.value)
    assert StripeAccount.objects.count() == 0


def test_it_accepts_a_key_of_letters_and_digits_after_its_prefix() -> None:
    assert keys.check_api_key("sk_test_51Habc0DEF1ghi2JKL") == "sk_test_51Habc0DEF1ghi2JKL"


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        ("whsec_", "whsec_ is followed by 0 letters and digits"),
        ("whsec_abc", "whsec_ is followed by 3 letters and digits"),
        ("whsec_abcdef ghijklmnop", "after whsec_ it holds a character other than"),
        ("whsec_abcdef_ghijklmnop", "after whsec_ it holds a character other than"),
    ],
    ids=["bare prefix", "too short", "a space", "an underscore"],
)
def test_it_refuses_a_webhook_secret_stripe_never_issues(secret: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=f"^not a Stripe webhook signing secret: {reason}"):
        stripe_api.store_webhook_secret(secret, livemode=True, actor="cli")
    assert StripeAccount.objects.count() == 0


def test_it_accepts_a_webhook_secret_in_base64_or_hex() -> None:
    for secret in ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw+/0=", "whsec_" + "0f" * 32):
        assert keys.check_webhook_secret(secret) == secret


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
