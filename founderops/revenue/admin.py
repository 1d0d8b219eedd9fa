"""Admin for revenue: Stripe's objects as stored, read-only (they change only through Stripe)."""

from __future__ import annotations

from django.contrib import admin

from founderops.core.admin import ReadOnlyAdmin, TabularInline
from founderops.revenue.models import (
    AccountAction,
    AcquisitionSpend,
    BillingCustomer,
    Charge,
    Coupon,
    CreditNote,
    Discount,
    Dispute,
    Dunning,
    DunningStep,
    FxRate,
    Invoice,
    InvoiceLine,
    InvoicePayment,
    Price,
    Product,
    Refund,
    StripeAccount,
    StripeEvent,
    Subscription,
    SubscriptionItem,
    SubscriptionSchedule,
)

# What every stored object shows last: where it came from and how current it is.
SYNC_FIELDS = ["livemode", "source", "version", "needs_fetch", "deleted", "synced_at"]

LINE_FIELDS = (
    "stripe_id",
    "price",
    "amount",
    "quantity",
    "discount_amount",
    "tax_exclusive",
    "period_start",
    "period_end",
    "proration",
)
ITEM_FIELDS = ("stripe_id", "price", "quantity", "current_period_start", "current_period_end")


class StripeObjectAdmin(ReadOnlyAdmin):
    list_filter = ["livemode", "source", "needs_fetch", "deleted"]
    search_fields = ["stripe_id"]


class LineInline(TabularInline[InvoiceLine, Invoice]):
    model = InvoiceLine
    fields = LINE_FIELDS
    readonly_fields = LINE_FIELDS
    extra = 0
    can_delete = False

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


class ItemInline(TabularInline[SubscriptionItem, Subscription]):
    model = SubscriptionItem
    fields = ITEM_FIELDS
    readonly_fields = ITEM_FIELDS
    extra = 0
    can_delete = False

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(BillingCustomer)
class BillingCustomerAdmin(StripeObjectAdmin):
    list_display = ["stripe_id", "email", "name", "customer", *SYNC_FIELDS]
    search_fields = ["stripe_id", "email", "name"]


@admin.register(Product)
class ProductAdmin(StripeObjectAdmin):
    list_display = ["stripe_id", "name", "active", *SYNC_FIELDS]


@admin.register(Price)
class PriceAdmin(StripeObjectAdmin):
    list_display = ["stripe_id", "product", "unit_amount", "currency", "interval", *SYNC_FIELDS]


@admin.register(Coupon)
class CouponAdmin(StripeObjectAdmin):
    list_display = ["stripe_id", "name", "percent_off", "amount_off", "duration", *SYNC_FIELDS]


@admin.register(Discount)
class DiscountAdmin(StripeObjectAdmin):
    list_display = ["stripe_id", "coupon", "customer", "start", "end", *SYNC_FIELDS]


@admin.register(Subscription)
class SubscriptionAdmin(StripeObjectAdmin):
    list_display = ["stripe_id", "customer", "status", "start_date", "ended_at", *SYNC_FIELDS]
    list_filter = ["status", *StripeObjectAdmin.list_filter]
    inlines = [ItemInline]


@admin.register(SubscriptionSchedule)
class SubscriptionScheduleAdmin(StripeObjectAdmin):
    list_display = ["stripe_id", "customer", "subscription", "status", *SYNC_FIELDS]


@admin.register(Invoice)
class InvoiceAdmin(StripeObjectAdmin):
    list_display = ["stripe_id", "customer", "status", "currency", "total", "tax", *SYNC_FIELDS]
    list_filter = ["status", *StripeObjectAdmin.list_filter]
    search_fields = ["stripe_id", "number", "customer__stripe_id", "customer__email"]
    inlines = [LineInline]


@admin.register(InvoicePayment)
class InvoicePaymentAdmin(StripeObjectAdmin):
    list_display = ["stripe_id", "invoice", "payment_intent", "amount_paid", *SYNC_FIELDS]


@admin.register(Charge)
class ChargeAdmin(StripeObjectAdmin):
    list_display = ["stripe_id", "customer", "invoice", "amount", "currency", "status"]
    list_display += SYNC_FIELDS
    list_filter = ["status", *StripeObjectAdmin.list_filter]


@admin.register(Refund)
class RefundAdmin(StripeObjectAdmin):
    list_display = ["stripe_id", "charge", "amount", "currency", "status", *SYNC_FIELDS]


@admin.register(CreditNote)
class CreditNoteAdmin(StripeObjectAdmin):
    list_display = ["stripe_id", "invoice", "total", "status", "type", *SYNC_FIELDS]


@admin.register(Dispute)
class DisputeAdmin(StripeObjectAdmin):
    list_display = ["stripe_id", "charge", "amount", "status", "reason", *SYNC_FIELDS]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["stripe_id", "type", "livemode", "created", "via", "status", "attempts"]
    list_filter = ["status", "via", "livemode", "type"]
    search_fields = ["stripe_id", "object_id", "error"]
    date_hierarchy = "created"


@admin.register(FxRate)
class FxRateAdmin(ReadOnlyAdmin):
    list_display = ["currency", "day", "rate", "source"]
    list_filter = ["currency"]


@admin.register(StripeAccount)
class StripeAccountAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "events_cursor", "backfilled_at", "reconciled_at", "last_error"]
    # Sealed secrets are ciphertext, but even that stays off the page.
    exclude = ["api_key_sealed", "webhook_secret_sealed"]


@admin.register(AccountAction)
class AccountActionAdmin(ReadOnlyAdmin):
    # Money moved through Stripe: changed only by the Support Agent and its approvals.
    list_display = ["kind", "status", "customer", "amount", "currency", "created_at", "source"]
    list_filter = ["kind", "status", "livemode"]
    search_fields = ["idempotency_key", "target", "result_id"]
    date_hierarchy = "created_at"


class DunningStepInline(TabularInline[DunningStep, Dunning]):
    model = DunningStep
    fields = ("kind", "number", "day", "due_at", "state", "done_at", "outcome")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Dunning)
class DunningAdmin(ReadOnlyAdmin):
    list_display = ["invoice", "state", "started_at", "ended_at", "end_reason"]
    list_filter = ["state"]
    inlines = [DunningStepInline]


@admin.register(AcquisitionSpend)
class AcquisitionSpendAdmin(ReadOnlyAdmin):
    # Recorded with `founderops revenue spend`, which audits each change.
    list_display = ["month", "channel", "amount", "currency", "note", "recorded_at"]
    list_filter = ["channel"]


# Also listed on their own, so a line or a step can be found without its parent.


@admin.register(InvoiceLine)
class InvoiceLineAdmin(ReadOnlyAdmin):
    list_display = ["stripe_id", "invoice", "price", "amount", "period_start", "period_end"]
    search_fields = ["stripe_id", "subscription_stripe_id"]


@admin.register(SubscriptionItem)
class SubscriptionItemAdmin(ReadOnlyAdmin):
    list_display = ["stripe_id", "subscription", "price", "quantity"]
    search_fields = ["stripe_id"]


@admin.register(DunningStep)
class DunningStepAdmin(ReadOnlyAdmin):
    list_display = ["dunning", "kind", "number", "day", "due_at", "state", "done_at"]
    list_filter = ["kind", "state"]
