"""Billing records as Stripe (or a CSV import) knows them, and the Stripe events that carried them.

Every stored object is keyed by its provider id per mode: test-mode and live-mode objects never
share a row (`livemode`, `stripe_id` is unique). Rows imported from CSV carry `source="csv"` and
ids prefixed `csv:` so they cannot collide with Stripe's. Money is integer minor units of the
row's currency. `version` is the Unix time of the snapshot a row holds (the event's `created`,
or when it was fetched): an older snapshot arriving late never overwrites a newer one.
"""

from __future__ import annotations

from django.db import models

from founderops.core import personal_data
from founderops.customers.models import Customer


class Source(models.TextChoices):
    STRIPE = "stripe", "Stripe"
    CSV = "csv", "CSV import"


class StripeObject(models.Model):
    """What every stored billing object has: its key, mode, snapshot version and raw form."""

    livemode = models.BooleanField()
    stripe_id = models.CharField(max_length=255)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.STRIPE)
    created = models.DateTimeField(null=True, blank=True)
    # Unix seconds of the snapshot stored; 0 for a stub known only by reference.
    version = models.BigIntegerField(default=0)
    # Breaks ties between snapshots of the same second: later states (paid, canceled) win.
    rank = models.SmallIntegerField(default=0)
    # Known only by reference, or stored incompletely: reconciliation fetches it from the API.
    needs_fetch = models.BooleanField(default=False)
    deleted = models.BooleanField(default=False)
    raw = models.JSONField(default=dict, blank=True)
    synced_at = models.DateTimeField()

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["livemode", "stripe_id"], name="%(app_label)s_%(class)s_unique_id"
            )
        ]

    def __str__(self) -> str:
        return self.stripe_id


class BillingCustomer(StripeObject):
    customer = models.ForeignKey(
        Customer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="billing_accounts",
    )
    email = models.CharField(max_length=254, blank=True)
    name = models.CharField(max_length=255, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    delinquent = models.BooleanField(default=False)

    class Meta(StripeObject.Meta):
        pass


class Product(StripeObject):
    name = models.CharField(max_length=255, blank=True)
    active = models.BooleanField(default=True)

    class Meta(StripeObject.Meta):
        pass


class Price(StripeObject):
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="prices"
    )
    currency = models.CharField(max_length=3, blank=True)
    unit_amount = models.BigIntegerField(null=True, blank=True)
    type = models.CharField(max_length=20, blank=True)
    # "month", "year", "week", "day" for recurring prices; empty for one-time ones.
    interval = models.CharField(max_length=10, blank=True)
    interval_count = models.PositiveIntegerField(default=1)
    nickname = models.CharField(max_length=255, blank=True)
    lookup_key = models.CharField(max_length=255, blank=True)
    active = models.BooleanField(default=True)

    class Meta(StripeObject.Meta):
        pass


class Coupon(StripeObject):
    name = models.CharField(max_length=255, blank=True)
    percent_off = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    amount_off = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    # forever, once or repeating (for duration_in_months).
    duration = models.CharField(max_length=10, blank=True)
    duration_in_months = models.PositiveIntegerField(null=True, blank=True)
    valid = models.BooleanField(default=True)

    class Meta(StripeObject.Meta):
        pass


class Discount(StripeObject):
    """A coupon applied to a customer, subscription or invoice (Stripe's `di_…`)."""

    coupon = models.ForeignKey(
        Coupon, on_delete=models.SET_NULL, null=True, blank=True, related_name="discounts"
    )
    customer = models.ForeignKey(
        BillingCustomer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    subscription_stripe_id = models.CharField(max_length=255, blank=True)
    start = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)

    class Meta(StripeObject.Meta):
        pass


class Subscription(StripeObject):
    customer = models.ForeignKey(
        BillingCustomer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="subscriptions",
    )
    status = models.CharField(max_length=30, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    start_date = models.DateTimeField(null=True, blank=True)
    trial_start = models.DateTimeField(null=True, blank=True)
    trial_end = models.DateTimeField(null=True, blank=True)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    canceled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    schedule_stripe_id = models.CharField(max_length=255, blank=True)

    class Meta(StripeObject.Meta):
        pass


class SubscriptionItem(models.Model):
    """One price on a subscription, as of the subscription's stored snapshot."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="items")
    stripe_id = models.CharField(max_length=255)
    price = models.ForeignKey(
        Price, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    quantity = models.BigIntegerField(default=1)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "stripe_id"], name="revenue_subscriptionitem_unique"
            )
        ]

    def __str__(self) -> str:
        return self.stripe_id


class SubscriptionSchedule(StripeObject):
    customer = models.ForeignKey(
        BillingCustomer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.SET_NULL, null=True, blank=True, related_name="schedules"
    )
    status = models.CharField(max_length=30, blank=True)
    end_behavior = models.CharField(max_length=20, blank=True)
    phases = models.JSONField(default=list, blank=True)

    class Meta(StripeObject.Meta):
        pass


class Invoice(StripeObject):
    customer = models.ForeignKey(
        BillingCustomer, on_delete=models.SET_NULL, null=True, blank=True, related_name="invoices"
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.SET_NULL, null=True, blank=True, related_name="invoices"
    )
    # draft, open, paid, uncollectible, void
    status = models.CharField(max_length=20, blank=True)
    number = models.CharField(max_length=100, blank=True)
    billing_reason = models.CharField(max_length=40, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    subtotal = models.BigIntegerField(default=0)
    # All tax on the invoice, inclusive and exclusive.
    tax = models.BigIntegerField(default=0)
    total = models.BigIntegerField(default=0)
    amount_due = models.BigIntegerField(default=0)
    amount_paid = models.BigIntegerField(default=0)
    amount_remaining = models.BigIntegerField(default=0)
    attempt_count = models.PositiveIntegerField(default=0)
    finalized_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    marked_uncollectible_at = models.DateTimeField(null=True, blank=True)

    class Meta(StripeObject.Meta):
        pass


class InvoiceLine(models.Model):
    """One line of an invoice snapshot: what was billed for which service period."""

    class Kind(models.TextChoices):
        SUBSCRIPTION = "subscription", "Subscription item"
        INVOICE_ITEM = "invoiceitem", "Invoice item"

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    stripe_id = models.CharField(max_length=255)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SUBSCRIPTION)
    subscription_stripe_id = models.CharField(max_length=255, blank=True)
    subscription_item_stripe_id = models.CharField(max_length=255, blank=True)
    price = models.ForeignKey(
        Price, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    description = models.TextField(blank=True)
    currency = models.CharField(max_length=3, blank=True)
    # Before discounts; negative for credits (e.g. unused time after a downgrade).
    amount = models.BigIntegerField(default=0)
    quantity = models.BigIntegerField(default=1)
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    proration = models.BooleanField(default=False)
    discount_amount = models.BigIntegerField(default=0)
    # [{"discount": "di_…", "amount": 500}] (a CSV row gives "duration" instead of an id).
    discounts = models.JSONField(default=list, blank=True)
    tax_exclusive = models.BigIntegerField(default=0)
    # Tax already inside `amount` (tax-inclusive prices).
    tax_inclusive = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "stripe_id"], name="revenue_invoiceline_unique"
            )
        ]

    def __str__(self) -> str:
        return self.stripe_id


class InvoicePayment(StripeObject):
    """Which payment paid which invoice (how newer API versions link charges to invoices)."""

    invoice = models.ForeignKey(
        Invoice, on_delete=models.SET_NULL, null=True, blank=True, related_name="payments"
    )
    payment_intent = models.CharField(max_length=255, blank=True)
    charge_stripe_id = models.CharField(max_length=255, blank=True)
    amount_paid = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    status = models.CharField(max_length=20, blank=True)

    class Meta(StripeObject.Meta):
        pass


class Charge(StripeObject):
    customer = models.ForeignKey(
        BillingCustomer, on_delete=models.SET_NULL, null=True, blank=True, related_name="charges"
    )
    invoice = models.ForeignKey(
        Invoice, on_delete=models.SET_NULL, null=True, blank=True, related_name="charges"
    )
    payment_intent = models.CharField(max_length=255, blank=True)
    amount = models.BigIntegerField(default=0)
    amount_refunded = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, blank=True)
    # succeeded, pending, failed
    status = models.CharField(max_length=20, blank=True)
    paid = models.BooleanField(default=False)
    refunded = models.BooleanField(default=False)
    failure_code = models.CharField(max_length=100, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)

    class Meta(StripeObject.Meta):
        pass


class Refund(StripeObject):
    charge = models.ForeignKey(
        Charge, on_delete=models.SET_NULL, null=True, blank=True, related_name="refunds"
    )
    amount = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, blank=True)
    # pending, requires_action, succeeded, failed, canceled
    status = models.CharField(max_length=20, blank=True)
    reason = models.CharField(max_length=60, blank=True)

    class Meta(StripeObject.Meta):
        pass


class CreditNote(StripeObject):
    customer = models.ForeignKey(
        BillingCustomer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    invoice = models.ForeignKey(
        Invoice, on_delete=models.SET_NULL, null=True, blank=True, related_name="credit_notes"
    )
    number = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, blank=True)
    type = models.CharField(max_length=20, blank=True)
    reason = models.CharField(max_length=60, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    subtotal = models.BigIntegerField(default=0)
    tax = models.BigIntegerField(default=0)
    total = models.BigIntegerField(default=0)
    out_of_band_amount = models.BigIntegerField(default=0)
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta(StripeObject.Meta):
        pass


class Dispute(StripeObject):
    charge = models.ForeignKey(
        Charge, on_delete=models.SET_NULL, null=True, blank=True, related_name="disputes"
    )
    amount = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, blank=True)
    status = models.CharField(max_length=40, blank=True)
    reason = models.CharField(max_length=60, blank=True)

    class Meta(StripeObject.Meta):
        pass


class StripeEvent(models.Model):
    """One Stripe event, stored (raw body and all) before it is processed, once per event id."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored (a type FounderOps does not store)"
        FAILED = "failed", "Failed (retried by reconciliation)"

    class Via(models.TextChoices):
        WEBHOOK = "webhook", "Webhook"
        EVENTS_API = "events_api", "Events API (reconciliation)"

    stripe_id = models.CharField(max_length=255, unique=True)
    livemode = models.BooleanField()
    type = models.CharField(max_length=100)
    api_version = models.CharField(max_length=60, blank=True)
    created = models.DateTimeField()
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=255, blank=True)
    via = models.CharField(max_length=20, choices=Via.choices)
    body = models.TextField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "created"], name="revenue_event_status_created"),
            models.Index(fields=["livemode", "created"], name="revenue_event_mode_created"),
        ]

    def __str__(self) -> str:
        return f"{self.stripe_id} {self.type}"


class FxRate(models.Model):
    """One unit of `currency` is worth `rate` US dollars from `day` on (exact decimal text)."""

    currency = models.CharField(max_length=3)
    day = models.DateField()
    # A decimal ("1.0843") or a fraction ("10843/10000"): parsed exactly, never as a float.
    rate = models.CharField(max_length=64)
    source = models.CharField(max_length=40, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["currency", "day"], name="revenue_fxrate_unique_day")
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.day} {self.rate}"


class StripeAccount(models.Model):
    """Per mode: a sealed API key and webhook secret (when not in settings) and sync progress."""

    livemode = models.BooleanField(unique=True)
    api_key_sealed = models.TextField(blank=True)
    webhook_secret_sealed = models.TextField(blank=True)
    # `created` (Unix seconds) of the newest event stored: reconciliation lists from there.
    events_cursor = models.BigIntegerField(default=0)
    backfilled_at = models.DateTimeField(null=True, blank=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return "live mode" if self.livemode else "test mode"


# Columns every stored object shares.
_COMMON = ("stripe_id", "source")

personal_data.personal(BillingCustomer, ("email", "name", "raw"), customer_path="customer")
personal_data.not_personal(BillingCustomer, (*_COMMON, "currency"))
personal_data.not_personal(Product, (*_COMMON, "name", "raw"))
personal_data.not_personal(
    Price, (*_COMMON, "currency", "type", "interval", "nickname", "lookup_key", "raw")
)
personal_data.not_personal(Coupon, (*_COMMON, "name", "currency", "duration", "raw"))
personal_data.personal(Discount, ("raw",), customer_path="customer__customer")
personal_data.not_personal(Discount, (*_COMMON, "subscription_stripe_id"))
personal_data.personal(Subscription, ("raw",), customer_path="customer__customer")
personal_data.not_personal(Subscription, (*_COMMON, "status", "currency", "schedule_stripe_id"))
personal_data.not_personal(SubscriptionItem, ("stripe_id",))
personal_data.personal(SubscriptionSchedule, ("raw",), customer_path="customer__customer")
personal_data.not_personal(SubscriptionSchedule, (*_COMMON, "status", "end_behavior", "phases"))
personal_data.personal(Invoice, ("raw",), customer_path="customer__customer")
personal_data.not_personal(Invoice, (*_COMMON, "status", "number", "billing_reason", "currency"))
# Line descriptions are written by the founder and may name the customer.
personal_data.personal(InvoiceLine, ("description",), customer_path="invoice__customer__customer")
personal_data.not_personal(
    InvoiceLine,
    (
        "stripe_id",
        "kind",
        "subscription_stripe_id",
        "subscription_item_stripe_id",
        "currency",
        "discounts",
    ),
)
personal_data.personal(InvoicePayment, ("raw",), customer_path="invoice__customer__customer")
personal_data.not_personal(
    InvoicePayment, (*_COMMON, "payment_intent", "charge_stripe_id", "currency", "status")
)
# A charge's raw form holds the card holder's name, e-mail and address.
personal_data.personal(Charge, ("raw",), customer_path="customer__customer")
personal_data.not_personal(
    Charge, (*_COMMON, "payment_intent", "currency", "status", "failure_code", "failure_message")
)
personal_data.personal(Refund, ("raw",), customer_path="charge__customer__customer")
personal_data.not_personal(Refund, (*_COMMON, "currency", "status", "reason"))
personal_data.personal(CreditNote, ("raw",), customer_path="customer__customer")
personal_data.not_personal(CreditNote, (*_COMMON, "number", "status", "type", "reason", "currency"))
# A dispute's evidence names the customer.
personal_data.personal(Dispute, ("raw",), customer_path="charge__customer__customer")
personal_data.not_personal(Dispute, (*_COMMON, "currency", "status", "reason"))
# The raw event holds whatever object it carried (a customer's e-mail, a charge's address).
personal_data.personal(StripeEvent, ("body",), customer_path=None)
personal_data.not_personal(
    StripeEvent,
    ("stripe_id", "type", "api_version", "object_type", "object_id", "via", "status", "error"),
)
personal_data.not_personal(FxRate, ("currency", "rate", "source"))
personal_data.not_personal(StripeAccount, ("api_key_sealed", "webhook_secret_sealed", "last_error"))


# Account actions and dunning: what FounderOps itself asks of Stripe (refunds, credits, invoice
# copies, cancellations; reminders and payment retries after a failed payment). Unlike the rows
# above, these are not copies of Stripe objects but FounderOps' own requests and their outcome.


class AccountAction(models.Model):
    """One money action asked of Stripe, once per idempotency key (the key Stripe gets too)."""

    class Kind(models.TextChoices):
        REFUND = "refund", "Refund"
        CREDIT = "credit", "Account credit"
        INVOICE_COPY = "invoice_copy", "Invoice copy"
        CANCEL = "cancel", "Cancel at period end"

    class Status(models.TextChoices):
        PENDING = "pending", "Not sent yet"
        RUNNING = "running", "Sent to Stripe, no answer stored yet"
        SUCCEEDED = "succeeded", "Done"
        FAILED = "failed", "Failed (never retried on its own)"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    livemode = models.BooleanField()
    # Derived from the request (source, target, amount): the same request is the same action.
    idempotency_key = models.CharField(max_length=255, unique=True)
    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="account_actions"
    )
    billing_customer = models.ForeignKey(
        BillingCustomer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # What asked for it, e.g. "ticket-12".
    source = models.CharField(max_length=100)
    # The Stripe object acted on: ch_… (refund), in_… (invoice copy), sub_… (cancel).
    target = models.CharField(max_length=255, blank=True)
    amount = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    requested_by = models.CharField(max_length=150)
    created_at = models.DateTimeField()
    # When a worker last took it to call Stripe; a claim older than the lease means it died.
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Stripe's id for what it made (re_…, cbtxn_…) and the part of its answer a reply needs.
    result_id = models.CharField(max_length=255, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["source", "kind"], name="revenue_action_source")]

    def __str__(self) -> str:
        return f"{self.kind} {self.target} ({self.status})"


class Dunning(models.Model):
    """The reminders and payment retries for one invoice whose payment failed."""

    class State(models.TextChoices):
        ACTIVE = "active", "Running"
        RECOVERED = "recovered", "Paid"
        STOPPED = "stopped", "Stopped (voided, written off or deleted)"
        EXHAUSTED = "exhausted", "Every step done, still unpaid"

    invoice = models.OneToOneField(Invoice, on_delete=models.CASCADE, related_name="dunning")
    state = models.CharField(
        max_length=20, choices=State.choices, default=State.ACTIVE, db_index=True
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"dunning {self.invoice_id} ({self.state})"


class DunningStep(models.Model):
    """One reminder e-mail or one payment retry, stored before it is done so it happens once."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Reminder e-mail"
        RETRY = "retry", "Payment retry"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for its day"
        CLAIMED = "claimed", "In hand (or its worker died: retried after the lease)"
        DONE = "done", "Done"
        FAILED = "failed", "Failed for good"
        SKIPPED = "skipped", "Skipped"

    dunning = models.ForeignKey(Dunning, on_delete=models.CASCADE, related_name="steps")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # Its place in the founder's schedule (0 first) and the day after the failure it is due.
    number = models.PositiveSmallIntegerField()
    day = models.PositiveSmallIntegerField()
    due_at = models.DateTimeField(db_index=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    # Fixed before the first send: a resend after a crash is the same mail to the client.
    msgid = models.CharField(max_length=200, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)
    # What happened, with the recipient's address replaced by <recipient>.
    outcome = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["due_at", "-kind", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["dunning", "kind", "number"], name="revenue_dunningstep_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.number} of {self.dunning_id}"


# The Stripe answer kept for a reply (an invoice's links, a refund's amount) names no one, but
# an error may quote what the customer typed; both are erased with the customer.
personal_data.personal(AccountAction, ("result", "error"), customer_path="customer")
personal_data.not_personal(
    AccountAction,
    (
        "kind",
        "status",
        "idempotency_key",
        "source",
        "target",
        "currency",
        "requested_by",
        "result_id",
    ),
)
personal_data.not_personal(Dunning, ("state", "end_reason"))
personal_data.not_personal(DunningStep, ("kind", "state", "msgid", "outcome"))


# Acquisition spend: what the founder paid to win customers, for CAC and payback.


class AcquisitionSpend(models.Model):
    """Spend on one channel in one month (the founder records it; Stripe does not know it)."""

    month = models.DateField(help_text="the first day of the month")
    channel = models.CharField(max_length=60, default="all")
    amount = models.BigIntegerField(help_text="minor units of `currency`")
    currency = models.CharField(max_length=3, default="USD")
    note = models.CharField(max_length=200, blank=True)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["month", "channel"]
        constraints = [
            models.UniqueConstraint(
                fields=["month", "channel"], name="revenue_spend_month_channel"
            ),
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="revenue_spend_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.channel}: {self.amount} {self.currency}"


personal_data.not_personal(AcquisitionSpend, ("channel", "currency", "note"))
