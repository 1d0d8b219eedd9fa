"""What the Monitoring Agent watches and what it saw.

A *monitor* is one check on a schedule (HTTP, TCP, TLS, DNS, heartbeat, PostgreSQL). Its state
moves only with hysteresis: `fail_threshold` failures in a row open it, `recover_threshold`
successes in a row close it, so a blip never pages. Every run is a *check result*; numbers
(latency, connections, rate-limit headroom, ingested metrics) are *metric points* of a series,
rolled up into 5-minute and hourly buckets and pruned by age. Deploys and error-log templates
are kept because they are the first thing an incident's diagnostics look at.
"""

from __future__ import annotations

from django.db import models

from founderops.core import personal_data
from founderops.incidents.models import Component


class Monitor(models.Model):
    class Kind(models.TextChoices):
        HTTP = "http", "HTTP(S)"
        TCP = "tcp", "TCP port"
        TLS = "tls", "TLS certificate"
        DNS = "dns", "DNS record"
        HEARTBEAT = "heartbeat", "Heartbeat / cron"
        POSTGRES = "postgres", "PostgreSQL health"

    class State(models.TextChoices):
        UNKNOWN = "unknown", "Not checked yet"
        UP = "up", "Up"
        DEGRADED = "degraded", "Degraded"
        DOWN = "down", "Down"
        MAINTENANCE = "maintenance", "In maintenance"
        PAUSED = "paused", "Paused"

    class Source(models.TextChoices):
        UI = "ui", "Cockpit"
        CONFIG = "config", "Config file"

    name = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # A URL (http), host:port (tcp, tls), a name (dns) or empty (heartbeat, postgres).
    target = models.CharField(max_length=2000, blank=True)
    # The kind's settings: expected status, keyword, json path and value, max latency,
    # redirects, record type and expected values, certificate days, heartbeat period/cron …
    options = models.JSONField(default=dict, blank=True)
    # A DSN or header value that must not be shown: Fernet-sealed (founderops.core.secrets).
    secret_sealed = models.TextField(blank=True)
    component = models.ForeignKey(
        Component, null=True, blank=True, on_delete=models.SET_NULL, related_name="monitors"
    )
    interval_s = models.PositiveIntegerField(default=60)
    timeout_s = models.FloatField(default=10.0)
    # Immediate re-tries inside one run before it counts as a failure.
    retries = models.PositiveIntegerField(default=0)
    fail_threshold = models.PositiveIntegerField(default=3)
    recover_threshold = models.PositiveIntegerField(default=2)
    enabled = models.BooleanField(default=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.UI)

    state = models.CharField(max_length=20, choices=State.choices, default=State.UNKNOWN)
    state_since = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    consecutive_successes = models.PositiveIntegerField(default=0)
    # When the current run of failures began: the incident's start (for time to detect).
    failing_since = models.DateTimeField(null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_error = models.TextField(blank=True)
    last_latency_ms = models.FloatField(null=True, blank=True)
    # Heartbeats: the secret in the ping URL (stored hashed) and the last ping.
    ping_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    last_ping_at = models.DateTimeField(null=True, blank=True)
    # The alert this monitor has firing ("monitor:NAME:CAUSE"), so recovery clears that one.
    firing_fingerprint = models.CharField(max_length=200, blank=True)
    # The learned normal: the latest successful latencies at normal speed (newest last);
    # their median is the baseline a slowdown is measured against.
    normal_latencies_ms = models.JSONField(default=list, blank=True)
    # Any change through save() (the cockpit, the config file) bumps this, and the running
    # engine reloads; the engine's own state writes are bulk updates that leave it alone.
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CheckResult(models.Model):
    class Outcome(models.TextChoices):
        UP = "up", "Up"
        DEGRADED = "degraded", "Degraded"
        DOWN = "down", "Down"

    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="results")
    at = models.DateTimeField()
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    latency_ms = models.FloatField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    # Status code, certificate expiry, resolved records, connections … as the kind found them.
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["monitor", "-at"])]

    def __str__(self) -> str:
        return f"{self.outcome} at {self.at:%Y-%m-%d %H:%M:%S}"


class MaintenanceWindow(models.Model):
    """Planned work: monitors in it are checked but never open an incident."""

    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    # No monitors and no components named: everything is in maintenance.
    monitors = models.ManyToManyField(Monitor, blank=True, related_name="maintenance_windows")
    components = models.ManyToManyField(Component, blank=True, related_name="maintenance_windows")
    announce = models.BooleanField(default=True, help_text="Shown on the public status page")
    source = models.CharField(max_length=10, choices=Monitor.Source.choices, default="ui")

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return self.title


class MetricSeries(models.Model):
    """A named series of numbers: a monitor's latency, a database's connections, an app metric."""

    name = models.CharField(max_length=200, unique=True)
    unit = models.CharField(max_length=20, blank=True)
    monitor = models.ForeignKey(
        Monitor, null=True, blank=True, on_delete=models.CASCADE, related_name="series"
    )
    component = models.ForeignKey(
        Component, null=True, blank=True, on_delete=models.SET_NULL, related_name="series"
    )
    # The anomaly detector's learned state (founderops.monitoring.anomaly), saved as it learns.
    detector_state = models.JSONField(default=dict, blank=True)
    last_value = models.FloatField(null=True, blank=True)
    last_at = models.DateTimeField(null=True, blank=True)
    last_score = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "metric series"

    def __str__(self) -> str:
        return self.name


class MetricPoint(models.Model):
    series = models.ForeignKey(MetricSeries, on_delete=models.CASCADE, related_name="points")
    at = models.DateTimeField()
    value = models.FloatField()

    class Meta:
        indexes = [models.Index(fields=["series", "at"])]

    def __str__(self) -> str:
        return f"{self.value} at {self.at:%Y-%m-%d %H:%M:%S}"


class MetricRollup(models.Model):
    """A bucket of points (5 minutes or an hour): what is left once raw points age out."""

    series = models.ForeignKey(MetricSeries, on_delete=models.CASCADE, related_name="rollups")
    resolution_s = models.PositiveIntegerField()
    bucket = models.DateTimeField()
    count = models.PositiveIntegerField()
    total = models.FloatField()
    minimum = models.FloatField()
    maximum = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["series", "resolution_s", "bucket"], name="one_rollup_per_bucket"
            )
        ]

    def __str__(self) -> str:
        return f"{self.resolution_s} s bucket at {self.bucket:%Y-%m-%d %H:%M}"


class DeployHook(models.Model):
    """An endpoint a deploy platform posts to: /hooks/deploy/<name>/ checked with its secret."""

    class Provider(models.TextChoices):
        VERCEL = "vercel", "Vercel (x-vercel-signature)"
        GENERIC = "generic", "Generic (HMAC-SHA256 or bearer token)"

    name = models.SlugField(max_length=100, unique=True)
    provider = models.CharField(max_length=20, choices=Provider.choices)
    secret_sealed = models.TextField(help_text="Signing secret, encrypted at rest")
    component = models.ForeignKey(
        Component, null=True, blank=True, on_delete=models.SET_NULL, related_name="deploy_hooks"
    )
    # A runbook step may roll back through this URL (e.g. a Vercel deploy hook of the
    # previous build); empty when the platform has none.
    rollback_url_sealed = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Deploy(models.Model):
    class State(models.TextChoices):
        STARTED = "started", "Started"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"
        ROLLED_BACK = "rolled_back", "Rolled back"

    hook = models.ForeignKey(DeployHook, on_delete=models.CASCADE, related_name="deploys")
    # The platform's own id (deployment id) for idempotency: a retried webhook is one deploy.
    external_id = models.CharField(max_length=200)
    state = models.CharField(max_length=20, choices=State.choices)
    at = models.DateTimeField()
    environment = models.CharField(max_length=50, blank=True)
    url = models.CharField(max_length=2000, blank=True)
    commit = models.CharField(max_length=100, blank=True)
    message = models.TextField(blank=True)
    # The webhook's last event id, so a replayed event changes nothing.
    last_event_id = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["hook", "external_id"], name="one_deploy_per_id")
        ]

    def __str__(self) -> str:
        return f"{self.external_id} {self.state}"


class LogTemplate(models.Model):
    """A template of log lines (Drain), with how often and when it was seen."""

    service = models.CharField(max_length=100)
    cluster_id = models.PositiveIntegerField()
    template = models.TextField()
    is_error = models.BooleanField(default=False)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    count = models.PositiveBigIntegerField(default=0)
    sample = models.TextField(blank=True, help_text="One recent line, cut to 2,000 characters")

    class Meta:
        ordering = ["-last_seen_at"]
        constraints = [
            models.UniqueConstraint(fields=["service", "cluster_id"], name="one_template_per_id")
        ]

    def __str__(self) -> str:
        return f"{self.service}: {self.template[:80]}"


class LogCount(models.Model):
    """Lines per template per minute: the error rate an incident's spike alert reads."""

    template = models.ForeignKey(LogTemplate, on_delete=models.CASCADE, related_name="counts")
    minute = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["template", "minute"], name="one_count_per_minute")
        ]

    def __str__(self) -> str:
        return f"{self.count} at {self.minute:%Y-%m-%d %H:%M}"


class LogParserState(models.Model):
    """The template miner's learned state per service, so a restart keeps the templates."""

    service = models.CharField(max_length=100, unique=True)
    state = models.BinaryField()
    updated_at = models.DateTimeField()
    lines_seen = models.PositiveBigIntegerField(default=0)
    lines_dropped = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return self.service


personal_data.not_personal(
    Monitor,
    (
        "name",
        "kind",
        "target",
        "options",
        "secret_sealed",
        "source",
        "state",
        "last_error",
        "ping_token_hash",
        "firing_fingerprint",
        "normal_latencies_ms",
    ),
)
personal_data.not_personal(CheckResult, ("outcome", "error", "detail"))
personal_data.not_personal(MaintenanceWindow, ("title", "source"))
personal_data.not_personal(MetricSeries, ("name", "unit", "detector_state"))
personal_data.not_personal(DeployHook, ("name", "provider", "secret_sealed", "rollback_url_sealed"))
personal_data.not_personal(
    Deploy, ("external_id", "state", "environment", "url", "commit", "message", "last_event_id")
)
# Application error logs can quote a user's address or id: the template masks variables,
# but the sample line is kept raw, so it is treated as personal (erased by age, never exported).
personal_data.not_personal(LogTemplate, ("service", "template"))
personal_data.personal(LogTemplate, ("sample",), customer_path=None)
personal_data.not_personal(LogParserState, ("service", "state"))
