"""Admin for the audit trail (read-only), and the typed base classes every admin.py uses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from founderops.core.models import (
    AuditEvent,
    Notification,
    NotificationDelivery,
    NotificationRoute,
    RateCounter,
)

if TYPE_CHECKING:
    ModelAdmin = admin.ModelAdmin
    TabularInline = admin.TabularInline
    ModelForm = forms.ModelForm
else:
    # django-stubs makes these generic for mypy; at run time `ModelAdmin[Ticket]` needs a
    # __class_getitem__ (what django_stubs_ext.monkeypatch adds, without the dependency).
    class ModelAdmin(admin.ModelAdmin):
        def __class_getitem__(cls, item: Any) -> Any:
            return cls

    class TabularInline(admin.TabularInline):
        def __class_getitem__(cls, item: Any) -> Any:
            return cls

    class ModelForm(forms.ModelForm):
        def __class_getitem__(cls, item: Any) -> Any:
            return cls


class ReadOnlyAdmin(ModelAdmin[Any]):
    """Records written by agents and services: seen here, changed only through them."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor", "action", "subject_type", "subject_id", "outcome"]
    list_filter = ["action", "actor"]
    search_fields = ["action", "actor", "subject_id", "outcome"]
    date_hierarchy = "created_at"


@admin.register(RateCounter)
class RateCounterAdmin(ReadOnlyAdmin):
    list_display = ["key", "window_start", "count"]
    search_fields = ["key"]


# Notifications: routes change in the cockpit (owner only, audited); here they are seen.
@admin.register(NotificationRoute)
class NotificationRouteAdmin(ReadOnlyAdmin):
    list_display = ["name", "target", "events", "enabled"]
    # The sealed URL is ciphertext, but even that stays off the page.
    exclude = ["url_sealed"]


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "event", "urgent", "title"]
    list_filter = ["event", "urgent"]
    search_fields = ["title", "key"]


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["notification", "route_name", "target", "state", "attempts", "next_attempt_at"]
    list_filter = ["state"]
