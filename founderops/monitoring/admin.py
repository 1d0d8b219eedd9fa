"""Admin for monitoring: a read-only record; monitors are managed in the cockpit or YAML."""

from __future__ import annotations

from django.contrib import admin

from founderops.core.admin import ReadOnlyAdmin
from founderops.monitoring.models import (
    CheckResult,
    Deploy,
    DeployHook,
    LogCount,
    LogParserState,
    LogTemplate,
    MaintenanceWindow,
    MetricPoint,
    MetricRollup,
    MetricSeries,
    Monitor,
)


@admin.register(Monitor)
class MonitorAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "target", "state", "enabled", "last_checked_at"]
    list_filter = ["kind", "state", "source"]
    exclude = ["secret_sealed", "ping_token_hash"]


@admin.register(CheckResult)
class CheckResultAdmin(ReadOnlyAdmin):
    list_display = ["at", "monitor", "outcome", "latency_ms", "error"]
    list_filter = ["outcome"]


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(ReadOnlyAdmin):
    list_display = ["title", "starts_at", "ends_at"]


@admin.register(MetricSeries)
class MetricSeriesAdmin(ReadOnlyAdmin):
    list_display = ["name", "unit", "last_value", "last_at", "last_score"]
    exclude = ["detector_state"]


@admin.register(MetricPoint)
class MetricPointAdmin(ReadOnlyAdmin):
    list_display = ["series", "at", "value"]


@admin.register(MetricRollup)
class MetricRollupAdmin(ReadOnlyAdmin):
    list_display = ["series", "resolution_s", "bucket", "count"]


@admin.register(DeployHook)
class DeployHookAdmin(ReadOnlyAdmin):
    list_display = ["name", "provider", "component"]
    exclude = ["secret_sealed", "rollback_url_sealed"]


@admin.register(Deploy)
class DeployAdmin(ReadOnlyAdmin):
    list_display = ["at", "hook", "state", "environment", "commit"]
    list_filter = ["state"]


@admin.register(LogTemplate)
class LogTemplateAdmin(ReadOnlyAdmin):
    list_display = ["service", "template", "is_error", "count", "last_seen_at"]
    list_filter = ["is_error", "service"]


@admin.register(LogCount)
class LogCountAdmin(ReadOnlyAdmin):
    list_display = ["template", "minute", "count"]


@admin.register(LogParserState)
class LogParserStateAdmin(ReadOnlyAdmin):
    list_display = ["service", "updated_at", "lines_seen", "lines_dropped"]
    exclude = ["state"]
