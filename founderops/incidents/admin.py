"""Admin for incidents: a read-only record; incidents are handled in the cockpit."""

from __future__ import annotations

from django.contrib import admin

from founderops.core.admin import ReadOnlyAdmin
from founderops.incidents.models import (
    Alert,
    Component,
    ComponentStatusChange,
    Incident,
    Runbook,
    RunbookRun,
    StatusUpdate,
    Subscriber,
    SubscriberNotice,
    TimelineEntry,
)


@admin.register(Component)
class ComponentAdmin(ReadOnlyAdmin):
    list_display = ["name", "status", "public", "critical", "position"]


@admin.register(ComponentStatusChange)
class ComponentStatusChangeAdmin(ReadOnlyAdmin):
    list_display = ["at", "component", "status", "incident"]


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "priority", "title", "state", "acknowledged_at", "resolved_at"]
    list_filter = ["priority", "state"]
    search_fields = ["title"]


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "source", "cause", "title", "state", "occurrences", "incident"]
    list_filter = ["source", "state", "cause"]


@admin.register(TimelineEntry)
class TimelineEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "incident", "kind", "actor", "text"]
    list_filter = ["kind"]


@admin.register(StatusUpdate)
class StatusUpdateAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "incident", "status", "state", "author"]


@admin.register(Runbook)
class RunbookAdmin(ReadOnlyAdmin):
    list_display = ["name", "enabled", "source"]


@admin.register(RunbookRun)
class RunbookRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "runbook", "incident", "state"]


@admin.register(Subscriber)
class SubscriberAdmin(ReadOnlyAdmin):
    list_display = ["email", "created_at", "confirmed_at", "unsubscribed_at"]
    exclude = ["token_hash"]


@admin.register(SubscriberNotice)
class SubscriberNoticeAdmin(ReadOnlyAdmin):
    list_display = ["claimed_at", "update", "subscriber", "state", "attempts", "sent_at"]
    list_filter = ["state"]
