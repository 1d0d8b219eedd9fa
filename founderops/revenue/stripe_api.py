"""The one seam to Stripe: an official `stripe.StripeClient` whose HTTP goes through core.http.

Tests answer Stripe's requests with `core.http.set_transport(httpx.MockTransport(...))`; nothing
here reaches the network on its own. The API key comes from FOUNDEROPS_STRIPE_API_KEY, or from
the sealed copy `founderops stripe connect` stored; it is never logged, printed or audited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

import stripe
from django.conf import settings

from founderops.core import audit, http, secrets
from founderops.core.errors import InvalidInput
from founderops.revenue import keys
from founderops.revenue.models import StripeAccount

TIMEOUT_SECONDS = 30.0
# The SDK retries 409s, 429s, 5xx and connection errors with a growing pause.
NETWORK_RETRIES = 2
PAGE_SIZE = 100


# The list endpoints a backfill pages through, in the order references resolve best.
LIST_NAMES = (
    "products",
    "prices",
    "coupons",
    "customers",
    "subscriptions",
    "subscription_schedules",
    "invoices",
    "invoice_payments",
    "charges",
    "refunds",
    "credit_notes",
    "disputes",
)


class StripeNotConfigured(InvalidInput):
    """No API key for the mode asked for."""


class _SeamHTTPXClient(stripe.HTTPXClient):
    """The SDK's httpx client, with the product's own httpx.Client (and its transport)."""

    def __init__(self, client: Any, timeout: float) -> None:
        # Without sync methods the SDK makes no client of its own; ours takes the place.
        super().__init__(timeout=timeout, allow_sync_methods=False)
        self._client = client

    def _get_request_args_kwargs(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any
    ) -> list[Any]:
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        # The SDK sends its form-encoded body as `data=<str>`, which httpx deprecates.
        body = kwargs.pop("data", None)
        if body:
            kwargs["content"] = body
        return [args, kwargs]


def livemode_of(key: str) -> bool:
    return key.startswith(("rk_live_", "sk_live_"))


def api_key(livemode: bool) -> str:
    """The key for this mode: the setting when it is of this mode, else the sealed one."""
    if settings.STRIPE_API_KEY and livemode_of(settings.STRIPE_API_KEY) == livemode:
        return str(settings.STRIPE_API_KEY)
    account = StripeAccount.objects.filter(livemode=livemode).first()
    key = secrets.reveal(account.api_key_sealed) if account else ""
    if not key:
        mode = "live" if livemode else "test"
        raise StripeNotConfigured(
            f"no Stripe API key for {mode} mode: set FOUNDEROPS_STRIPE_API_KEY to a restricted "
            f"key (rk_{mode}_…) or run `founderops stripe connect`"
        )
    return key


def configured_modes() -> list[bool]:
    """The modes a key is known for (live first)."""
    modes = {livemode_of(settings.STRIPE_API_KEY)} if settings.STRIPE_API_KEY else set()
    modes |= set(
        StripeAccount.objects.exclude(api_key_sealed="").values_list("livemode", flat=True)
    )
    return sorted(modes, reverse=True)


def client(livemode: bool | None = None, key: str = "") -> stripe.StripeClient:
    """A client for `livemode` (default: FOUNDEROPS_STRIPE_LIVEMODE), or for an explicit key."""
    if not key:
        key = api_key(settings.STRIPE_LIVEMODE if livemode is None else livemode)
    seam = _SeamHTTPXClient(http.client(timeout=TIMEOUT_SECONDS), TIMEOUT_SECONDS)
    return stripe.StripeClient(key, http_client=seam, max_network_retries=NETWORK_RETRIES)


class Lister(Protocol):
    def list(self, params: Any = None, options: Any = None) -> stripe.ListObject[Any]: ...


class Retriever(Protocol):
    def retrieve(self, id: str, params: Any = None, options: Any = None) -> Any: ...


def listers(api: stripe.StripeClient) -> dict[str, Lister]:
    """Each of LIST_NAMES with its service."""
    v1 = api.v1
    listed: dict[str, Lister] = {
        "products": v1.products,
        "prices": v1.prices,
        "coupons": v1.coupons,
        "customers": v1.customers,
        "subscriptions": v1.subscriptions,
        "subscription_schedules": v1.subscription_schedules,
        "invoices": v1.invoices,
        "invoice_payments": v1.invoice_payments,
        "charges": v1.charges,
        "refunds": v1.refunds,
        "credit_notes": v1.credit_notes,
        "disputes": v1.disputes,
    }
    return {name: listed[name] for name in LIST_NAMES}


def retrievers(api: stripe.StripeClient) -> dict[str, Retriever]:
    """By the object's `object` name: where one object is fetched by id."""
    v1 = api.v1
    return {
        "customer": v1.customers,
        "product": v1.products,
        "price": v1.prices,
        "coupon": v1.coupons,
        "subscription": v1.subscriptions,
        "subscription_schedule": v1.subscription_schedules,
        "invoice": v1.invoices,
        "invoice_payment": v1.invoice_payments,
        "charge": v1.charges,
        "refund": v1.refunds,
        "credit_note": v1.credit_notes,
        "dispute": v1.disputes,
    }


def each(lister: Lister, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every object of a list endpoint as a plain dict, page after page."""
    page = lister.list({"limit": PAGE_SIZE, **params})
    for item in page.auto_paging_iter():
        yield as_dict(item)


def as_dict(item: Any) -> dict[str, Any]:
    """An SDK object as the plain JSON-shaped dict Stripe sent (what webhooks deliver)."""
    value = item.to_dict(for_json=True) if isinstance(item, stripe.StripeObject) else item
    if not isinstance(value, dict):
        raise InvalidInput(f"Stripe answered {type(item).__name__}, expected an object")
    return value


def more(api: stripe.StripeClient) -> Callable[[str, str, str], list[dict[str, Any]]]:
    """Fetches the rest of a truncated nested list: an invoice's lines, a subscription's items."""

    def fetch(kind: str, parent: str, after: str) -> list[dict[str, Any]]:
        params: Any = {"limit": PAGE_SIZE, **({"starting_after": after} if after else {})}
        page: stripe.ListObject[Any]
        if kind == "invoice_lines":
            page = api.v1.invoices.line_items.list(parent, params)
        elif kind == "subscription_items":
            params["subscription"] = parent
            page = api.v1.subscription_items.list(params)
        else:
            raise InvalidInput(f"no nested Stripe list called {kind!r}")
        return [as_dict(item) for item in page.auto_paging_iter()]

    return fetch


def connect(key: str, actor: str) -> bool:
    """Store an API key (sealed) for its own mode; returns that mode (True: live)."""
    key = keys.check_api_key(key.strip())
    livemode = livemode_of(key)
    account, _ = StripeAccount.objects.get_or_create(livemode=livemode)
    account.api_key_sealed = secrets.seal(key)
    account.save(update_fields=["api_key_sealed"])
    # The key itself is never audited; its kind and mode are.
    audit.record(
        actor,
        "revenue.stripe_key_stored",
        ("stripe_account", account.pk),
        outcome=key[:3] + ("live" if livemode else "test"),
    )
    return livemode


def store_webhook_secret(secret: str, livemode: bool, actor: str) -> None:
    secret = keys.check_webhook_secret(secret.strip())
    account, _ = StripeAccount.objects.get_or_create(livemode=livemode)
    account.webhook_secret_sealed = secrets.seal(secret)
    account.save(update_fields=["webhook_secret_sealed"])
    audit.record(actor, "revenue.stripe_webhook_secret_stored", ("stripe_account", account.pk))
