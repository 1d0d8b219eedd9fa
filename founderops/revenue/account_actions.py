"""Money actions on a customer's Stripe account: refund, credit, invoice copy, cancel.

Each request becomes one AccountAction row keyed by an idempotency key derived from the request
itself (`founderops-refund-ticket-12-ch_…-2000`), and Stripe gets the same key. A worker killed
after Stripe answered but before the answer was stored leaves the row claimed; once the claim's
lease runs out the next attempt sends the same key, and Stripe answers with the first result
instead of refunding twice. A Stripe error (a declined card, an invalid request, the network)
marks the action failed with Stripe's message and is never retried on its own: a person looks.

Every step is audited with who asked, what was asked and what came of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet, Sum

from founderops.core import audit, clock
from founderops.core.errors import FounderOpsError, InvalidInput
from founderops.core.money import Money, exponent
from founderops.customers.models import Customer, Identity
from founderops.revenue import stripe_api, stripe_store
from founderops.revenue.models import (
    AccountAction,
    BillingCustomer,
    Charge,
    Invoice,
    Refund,
    Subscription,
)

Kind = AccountAction.Kind
Status = AccountAction.Status
# Longer than one Stripe call with the SDK's own retries; a claim older than this means its
# worker died (jobs are redelivered after FOUNDEROPS_JOB_RETRY_SECONDS, longer still).
LEASE = timedelta(minutes=5)
REFUNDABLE_STATUSES = ("succeeded",)
COPYABLE_INVOICES = ("open", "paid", "uncollectible")
CANCELLABLE = ("active", "trialing", "past_due", "unpaid")
# Refund actions not answered yet count against what a charge has left.
IN_FLIGHT = (Status.PENDING, Status.RUNNING)


class ActionRefused(InvalidInput):
    """The action cannot be done as asked; the message says why (nothing was sent to Stripe)."""


class ActionInProgress(FounderOpsError):
    """Another worker holds the action right now; it finishes it."""


@dataclass(frozen=True)
class Request:
    """What is asked, before it is checked: the same request always makes the same key."""

    kind: str
    customer_id: int
    # What asked, e.g. "ticket-12": two tickets asking the same refund are two requests.
    source: str
    # ch_… for a refund, in_… for an invoice copy, sub_… to cancel; "" for a credit.
    target: str = ""
    # Minor units; None for a refund means whatever remains refundable.
    amount: int | None = None
    currency: str = ""
    livemode: bool | None = None

    @property
    def mode(self) -> bool:
        return settings.STRIPE_LIVEMODE if self.livemode is None else self.livemode

    @property
    def idempotency_key(self) -> str:
        amount = "full" if self.amount is None else str(self.amount)
        parts = [self.kind.replace("_", "-"), self.source, self.target or self.currency, amount]
        return "founderops-" + "-".join(part for part in parts if part)[:240]


@dataclass(frozen=True)
class Checked:
    """A request that may go to Stripe: its account, target, amount and currency."""

    account: BillingCustomer
    target: str
    amount: int | None
    currency: str


# What a customer has in Stripe.


def available(livemode: bool | None = None) -> bool:
    """Whether a Stripe key is known for the mode the revenue numbers use."""
    mode = settings.STRIPE_LIVEMODE if livemode is None else livemode
    return mode in stripe_api.configured_modes()


def billing_accounts(customer: Customer, livemode: bool) -> QuerySet[BillingCustomer]:
    """The customer's Stripe customers: linked rows, and rows their Stripe identities name."""
    named = Identity.objects.filter(customer=customer, kind=Identity.Kind.STRIPE).values("value")
    return BillingCustomer.objects.filter(
        Q(customer=customer) | Q(stripe_id__in=named), livemode=livemode, deleted=False
    ).order_by("-created", "-id")


def refundable(charge: Charge, except_key: str = "") -> int:
    """What is left to refund on a charge: refunds Stripe made and ours still in flight."""
    stored = (
        Refund.objects.filter(charge=charge, status__in=stripe_store.REFUNDING).aggregate(
            total=Sum("amount")
        )["total"]
        or 0
    )
    in_flight = (
        AccountAction.objects.filter(
            kind=Kind.REFUND,
            livemode=charge.livemode,
            target=charge.stripe_id,
            status__in=IN_FLIGHT,
        )
        .exclude(idempotency_key=except_key)
        .aggregate(total=Sum("amount"))["total"]
        or 0
    )
    return max(0, charge.amount - max(stored, charge.amount_refunded) - in_flight)


def latest_refundable_charge(customer: Customer, livemode: bool) -> Charge | None:
    """The customer's most recent paid charge with money left to refund."""
    charges = Charge.objects.filter(
        customer__in=billing_accounts(customer, livemode),
        status__in=REFUNDABLE_STATUSES,
        paid=True,
        refunded=False,
    ).order_by("-created", "-id")
    return next((charge for charge in charges[:20] if refundable(charge) > 0), None)


def latest_invoice(customer: Customer, livemode: bool) -> Invoice | None:
    return (
        Invoice.objects.filter(
            customer__in=billing_accounts(customer, livemode),
            status__in=COPYABLE_INVOICES,
            deleted=False,
        )
        .order_by("-created", "-id")
        .first()
    )


def live_subscriptions(customer: Customer, livemode: bool) -> list[Subscription]:
    """Subscriptions that would bill again: active (or trying to be) and not ending already."""
    return list(
        Subscription.objects.filter(
            customer__in=billing_accounts(customer, livemode),
            status__in=CANCELLABLE,
            deleted=False,
        ).order_by("-created", "-id")
    )


def card_of(charge: Charge) -> str:
    """How a reply names what was charged: "your Visa card ending in 4242"."""
    details = charge.raw.get("payment_method_details") or {}
    card = details.get("card") or {}
    brand, last4 = str(card.get("brand") or "").strip(), str(card.get("last4") or "").strip()
    if last4:
        label = {"amex": "American Express", "mastercard": "Mastercard"}.get(brand, brand.title())
        return f"your {label or 'card'} card ending in {last4}".replace("card card", "card")
    return "the payment method you paid with"


# The four actions.


def refund_charge(
    customer: Customer,
    charge_id: str,
    amount: int | None,
    source: str,
    actor: str,
    api: stripe.StripeClient | None = None,
) -> AccountAction:
    """Refund a charge of the customer's, fully (amount None) or in part."""
    return perform(Request(Kind.REFUND, customer.pk, source, charge_id, amount), actor, api)


def add_credit(
    customer: Customer,
    amount: int,
    currency: str,
    source: str,
    actor: str,
    api: stripe.StripeClient | None = None,
) -> AccountAction:
    """Credit the customer's Stripe balance: their next invoices use it first."""
    request = Request(Kind.CREDIT, customer.pk, source, "", amount, currency.upper())
    return perform(request, actor, api)


def invoice_copy(
    customer: Customer,
    invoice_id: str,
    source: str,
    actor: str,
    api: stripe.StripeClient | None = None,
) -> AccountAction:
    """The invoice's current links (hosted page and PDF), fetched fresh from Stripe."""
    return perform(Request(Kind.INVOICE_COPY, customer.pk, source, invoice_id), actor, api)


def cancel_at_period_end(
    customer: Customer,
    subscription_id: str,
    source: str,
    actor: str,
    api: stripe.StripeClient | None = None,
) -> AccountAction:
    """The subscription ends when the period paid for ends; nothing more is charged."""
    return perform(Request(Kind.CANCEL, customer.pk, source, subscription_id), actor, api)


def perform(request: Request, actor: str, api: stripe.StripeClient | None = None) -> AccountAction:
    """Check and store the request (once), then ask Stripe (once). Returns the action, done
    or failed; raises ActionRefused before Stripe is asked, ActionInProgress while another
    worker holds it."""
    action = prepare(request, actor)
    return execute(action, api)


def existing(source: str, kind: str = "") -> AccountAction | None:
    """The latest action a source asked for (a retried job finds its own earlier work)."""
    actions = AccountAction.objects.filter(source=source)
    return (actions.filter(kind=kind) if kind else actions).first()


# Checking and storing the request.


def prepare(request: Request, actor: str) -> AccountAction:
    """The action for this request: the stored one for its key, else checked and stored."""
    key = request.idempotency_key
    found = AccountAction.objects.filter(idempotency_key=key).first()
    if found is not None:
        return found
    customer = Customer.objects.filter(pk=request.customer_id).first()
    if customer is None:
        raise ActionRefused(f"no customer #{request.customer_id}")
    try:
        checked = CHECKS[request.kind](customer, request, key)
    except ActionRefused as refused:
        _audit_refused(request, customer, actor, str(refused))
        raise
    try:
        with transaction.atomic():
            action = AccountAction.objects.create(
                kind=request.kind,
                livemode=request.mode,
                idempotency_key=key,
                customer=customer,
                billing_customer=checked.account,
                source=request.source,
                target=checked.target,
                amount=checked.amount,
                currency=checked.currency,
                requested_by=actor,
                created_at=clock.now(),
            )
            _audit(action, actor, "revenue.account_action_requested", "pending")
    except IntegrityError:
        # The same request stored by another worker at the same moment.
        return AccountAction.objects.get(idempotency_key=key)
    return action


def _audit_refused(request: Request, customer: Customer, actor: str, why: str) -> None:
    audit.record(
        actor,
        "revenue.account_action_refused",
        ("customer", customer.pk),
        outcome="refused",
        details={
            "kind": request.kind,
            "source": request.source,
            "target": request.target,
            "amount": request.amount,
            "reason": why,
        },
    )


def _one_account(customer: Customer, request: Request) -> BillingCustomer:
    account = billing_accounts(customer, request.mode).first()
    if account is None:
        mode = "live" if request.mode else "test"
        raise ActionRefused(f"{customer} has no Stripe customer in {mode} mode")
    return account


def _check_refund(customer: Customer, request: Request, key: str) -> Checked:
    charge = (
        Charge.objects.filter(livemode=request.mode, stripe_id=request.target)
        .select_related("customer")
        .first()
    )
    accounts = set(billing_accounts(customer, request.mode).values_list("pk", flat=True))
    if charge is None or charge.customer_id not in accounts:
        raise ActionRefused(f"charge {request.target} is not one of {customer}'s")
    if charge.status not in REFUNDABLE_STATUSES or not charge.paid:
        raise ActionRefused(f"charge {charge.stripe_id} was never paid")
    left = refundable(charge, except_key=key)
    code = charge.currency or "USD"
    if request.currency and request.currency.upper() != code:
        raise ActionRefused(f"charge {charge.stripe_id} is in {code}, not {request.currency}")
    if left <= 0:
        raise ActionRefused(f"charge {charge.stripe_id} is already fully refunded")
    amount = left if request.amount is None else request.amount
    if amount <= 0:
        raise ActionRefused("a refund must be more than zero")
    if amount > left:
        raise ActionRefused(_too_much(charge, amount, left))
    if exponent(code) == 3 and amount % 10:
        # Stripe (and the card networks) move three-decimal currencies in tens of fils.
        raise ActionRefused(f"a {code} refund must be a multiple of {Money(10, code)}")
    assert charge.customer is not None
    return Checked(charge.customer, charge.stripe_id, amount, code)


def _too_much(charge: Charge, amount: int, left: int) -> str:
    code = charge.currency or "USD"
    return (
        f"a refund of {Money(amount, code)} is more than the {Money(left, code)} still "
        f"refundable on charge {charge.stripe_id} ({Money(charge.amount, code)} charged, "
        f"{Money(charge.amount - left, code)} refunded or being refunded): refused"
    )


def _check_credit(customer: Customer, request: Request, key: str) -> Checked:
    if request.amount is None or request.amount <= 0:
        raise ActionRefused("a credit needs an amount above zero")
    account = _one_account(customer, request)
    code = request.currency.upper()
    Money(request.amount, code)  # raises InvalidInput on a malformed currency
    if account.currency and account.currency != code:
        raise ActionRefused(f"{customer}'s Stripe balance is in {account.currency}, not {code}")
    return Checked(account, "", request.amount, code)


def _check_invoice(customer: Customer, request: Request, key: str) -> Checked:
    invoice = Invoice.objects.filter(
        livemode=request.mode,
        stripe_id=request.target,
        customer__in=billing_accounts(customer, request.mode),
    ).first()
    if invoice is None or invoice.customer is None:
        raise ActionRefused(f"invoice {request.target} is not one of {customer}'s")
    if invoice.status not in COPYABLE_INVOICES:
        raise ActionRefused(f"invoice {invoice.stripe_id} is {invoice.status}")
    return Checked(invoice.customer, invoice.stripe_id, invoice.total, invoice.currency)


def _check_cancel(customer: Customer, request: Request, key: str) -> Checked:
    subscription = Subscription.objects.filter(
        livemode=request.mode,
        stripe_id=request.target,
        customer__in=billing_accounts(customer, request.mode),
    ).first()
    if subscription is None or subscription.customer is None:
        why = f"subscription {request.target} is not one of {customer}'s"
        raise ActionRefused(why)
    if subscription.status not in CANCELLABLE:
        why = f"subscription {subscription.stripe_id} is {subscription.status}"
        raise ActionRefused(why)
    return Checked(subscription.customer, subscription.stripe_id, None, subscription.currency)


CHECKS: dict[str, Callable[[Customer, Request, str], Checked]] = {
    Kind.REFUND: _check_refund,
    Kind.CREDIT: _check_credit,
    Kind.INVOICE_COPY: _check_invoice,
    Kind.CANCEL: _check_cancel,
}


# Asking Stripe, once.


def execute(action: AccountAction, api: stripe.StripeClient | None = None) -> AccountAction:
    """Send the action to Stripe unless it was done, failed, or is in another worker's hands."""
    if action.status in (Status.SUCCEEDED, Status.FAILED):
        return action
    # The key is looked up before the claim: without one the action stays pending.
    client = api or stripe_api.client(action.livemode)
    if not claim(action):
        action.refresh_from_db()
        if action.status == Status.RUNNING:
            raise ActionInProgress(f"{action.kind} {action.target} is being sent to Stripe now")
        return action
    action.refresh_from_db()
    try:
        answer = CALLS[action.kind](client, action)
    except stripe.StripeError as error:
        return _failed(action, describe(error, action))
    return _answered(action, answer)


def claim(action: AccountAction) -> bool:
    """Take the action for one call: pending, or claimed by a worker whose lease ran out."""
    now = clock.now()
    lapsed = Q(status=Status.RUNNING, claimed_at__lte=now - LEASE)
    won = AccountAction.objects.filter(Q(status=Status.PENDING) | lapsed, pk=action.pk).update(
        status=Status.RUNNING, claimed_at=now, attempts=F("attempts") + 1
    )
    return bool(won)


def _options(action: AccountAction) -> Any:
    return {"idempotency_key": action.idempotency_key}


def _call_refund(api: stripe.StripeClient, action: AccountAction) -> dict[str, Any]:
    params: Any = {
        "charge": action.target,
        "amount": action.amount,
        "reason": "requested_by_customer",
        "metadata": {"founderops_source": action.source},
    }
    return stripe_api.as_dict(api.v1.refunds.create(params, _options(action)))


def _call_credit(api: stripe.StripeClient, action: AccountAction) -> dict[str, Any]:
    assert action.billing_customer is not None
    assert action.amount is not None
    params: Any = {
        # A negative balance transaction is money the customer has to spend.
        "amount": -action.amount,
        "currency": action.currency.lower(),
        "description": f"Credit from support ({action.source})",
        "metadata": {"founderops_source": action.source},
    }
    created = api.v1.customers.balance_transactions.create(
        action.billing_customer.stripe_id, params, _options(action)
    )
    return stripe_api.as_dict(created)


def _call_invoice(api: stripe.StripeClient, action: AccountAction) -> dict[str, Any]:
    # Reading changes nothing, so no key: the links are fetched fresh (hosted pages expire).
    return stripe_api.as_dict(api.v1.invoices.retrieve(action.target))


def _call_cancel(api: stripe.StripeClient, action: AccountAction) -> dict[str, Any]:
    params: Any = {"cancel_at_period_end": True}
    updated = api.v1.subscriptions.update(action.target, params, _options(action))
    return stripe_api.as_dict(updated)


CALLS: dict[str, Callable[[stripe.StripeClient, AccountAction], dict[str, Any]]] = {
    Kind.REFUND: _call_refund,
    Kind.CREDIT: _call_credit,
    Kind.INVOICE_COPY: _call_invoice,
    Kind.CANCEL: _call_cancel,
}


# Stripe's answer.


def describe(error: stripe.StripeError, action: AccountAction) -> str:
    """Stripe's own message, with what it means for the money."""
    said = error.user_message or str(error) or type(error).__name__
    code = f" ({error.code})" if error.code else ""
    if isinstance(error, stripe.APIConnectionError):
        return (
            f"Stripe could not be reached: {said}. The {action.get_kind_display().lower()} may "
            "or may not have been made: check the Stripe dashboard before asking again"
        )
    if isinstance(error, stripe.CardError):
        return f"the card was declined{code}: {said}"
    return f"Stripe refused{code}: {said}"


def _failed(action: AccountAction, reason: str) -> AccountAction:
    AccountAction.objects.filter(pk=action.pk).update(
        status=Status.FAILED, error=reason[:2000], finished_at=clock.now()
    )
    action.refresh_from_db()
    _audit(action, action.requested_by, "revenue.account_action_failed", "failed")
    return action


def _answered(action: AccountAction, answer: dict[str, Any]) -> AccountAction:
    problem = _refusal_in(action, answer)
    if problem:
        return _failed(action, problem)
    result = RESULTS[action.kind](answer)
    AccountAction.objects.filter(pk=action.pk).update(
        status=Status.SUCCEEDED,
        result_id=str(answer.get("id") or "")[:255],
        result=result,
        error="",
        finished_at=clock.now(),
    )
    action.refresh_from_db()
    _audit(action, action.requested_by, "revenue.account_action_succeeded", "succeeded")
    _keep(action, answer)
    return action


def _refusal_in(action: AccountAction, answer: dict[str, Any]) -> str:
    """A refund Stripe accepted but could not make (failed, canceled) is a failure too."""
    if action.kind == Kind.REFUND and answer.get("status") in ("failed", "canceled"):
        why = answer.get("failure_reason") or answer.get("status")
        return f"Stripe could not make the refund: {why}"
    return ""


def _refund_result(answer: dict[str, Any]) -> dict[str, Any]:
    return {
        "amount": answer.get("amount"),
        "currency": str(answer.get("currency") or "").upper(),
        "status": answer.get("status"),
    }


def _credit_result(answer: dict[str, Any]) -> dict[str, Any]:
    return {
        "amount": -int(answer.get("amount") or 0),
        "currency": str(answer.get("currency") or "").upper(),
        "ending_balance": answer.get("ending_balance"),
    }


def _invoice_result(answer: dict[str, Any]) -> dict[str, Any]:
    return {
        "number": answer.get("number") or "",
        "hosted_invoice_url": answer.get("hosted_invoice_url") or "",
        "invoice_pdf": answer.get("invoice_pdf") or "",
        "total": answer.get("total"),
        "currency": str(answer.get("currency") or "").upper(),
        "status": answer.get("status"),
        "created": answer.get("created"),
    }


def _cancel_result(answer: dict[str, Any]) -> dict[str, Any]:
    items = (answer.get("items") or {}).get("data") or []
    ends = [item.get("current_period_end") for item in items if item.get("current_period_end")]
    # Newer API versions keep the period on the items and set cancel_at to its end.
    end = answer.get("cancel_at") or answer.get("current_period_end") or max(ends, default=None)
    return {
        "status": answer.get("status"),
        "cancel_at_period_end": bool(answer.get("cancel_at_period_end")),
        "ends_at": end,
    }


RESULTS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    Kind.REFUND: _refund_result,
    Kind.CREDIT: _credit_result,
    Kind.INVOICE_COPY: _invoice_result,
    Kind.CANCEL: _cancel_result,
}


def _keep(action: AccountAction, answer: dict[str, Any]) -> None:
    """Store the object Stripe answered with (a refund, the subscription, the invoice), so the
    numbers move now rather than when its webhook comes; a webhook later changes nothing."""
    if not stripe_store.stores(str(answer.get("object", ""))):
        return
    version = int(answer.get("created") or 0) if action.kind == Kind.REFUND else None
    context = stripe_store.Context(action.livemode, version or int(clock.now().timestamp()))
    try:
        stripe_store.store(answer, context)
    except InvalidInput as error:
        # The money moved whatever our copy says; reconciliation stores it again later.
        _audit(action, "system:revenue", "revenue.account_action_not_stored", str(error)[:200])


def _audit(action: AccountAction, actor: str, name: str, outcome: str) -> None:
    audit.record(
        actor,
        name,
        ("account_action", action.pk),
        outcome=outcome,
        details={
            "kind": action.kind,
            "source": action.source,
            "customer": action.customer_id,
            "target": action.target,
            "amount": action.amount,
            "currency": action.currency,
            "idempotency_key": action.idempotency_key,
            "result_id": action.result_id,
            "error": action.error[:500],
            "attempts": action.attempts,
        },
    )
