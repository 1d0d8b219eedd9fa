"""Incidents: alerts folded into incidents, their timeline, runbooks, and the status page.

An *alert* is one firing signal (a monitor down, an error-rate spike, a new error template),
keyed by a fingerprint so the same signal firing again is the same alert. Alerts that share a
component, a time and a cause are correlated into one *incident*, which carries the priority
(P0-P3), its SLA clock, the timeline of everything that happened, the agent's diagnostics and
plan, and at the end the post-mortem draft. *Components* are what the public status page
shows; each change of a component's status is kept, so uptime over any period is exact.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from founderops.core import personal_data


class Component(models.Model):
    """A part of the founder's product as customers see it: "API", "Dashboard", "Payments"."""

    class Status(models.TextChoices):
        OPERATIONAL = "operational", "Operational"
        DEGRADED = "degraded", "Degraded performance"
        PARTIAL_OUTAGE = "partial_outage", "Partial outage"
        MAJOR_OUTAGE = "major_outage", "Major outage"
        MAINTENANCE = "maintenance", "Under maintenance"

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    position = models.PositiveIntegerField(default=0)
    public = models.BooleanField(default=True, help_text="Shown on the public status page")
    # Payments down is a P0 whatever the symptom: the priority rules read this flag.
    critical = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPERATIONAL)
    status_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class ComponentStatusChange(models.Model):
    """One change of a component's status; uptime per day is computed from these intervals."""

    component = models.ForeignKey(Component, on_delete=models.CASCADE, related_name="changes")
    at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Component.Status.choices)
    incident = models.ForeignKey(
        "Incident", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["component", "at"])]

    def __str__(self) -> str:
        return f"{self.status} at {self.at:%Y-%m-%d %H:%M}"


class Incident(models.Model):
    class Priority(models.TextChoices):
        P0 = "P0", "P0 — outage, breach or payments down (now)"
        P1 = "P1", "P1 — major feature broken or ≥ 50 % slower (1 h)"
        P2 = "P2", "P2 — minor, or < 50 % slower (4 h)"
        P3 = "P3", "P3 — cosmetic (24 h)"

    class State(models.TextChoices):
        INVESTIGATING = "investigating", "Investigating"
        IDENTIFIED = "identified", "Identified"
        MONITORING = "monitoring", "Monitoring"
        RESOLVED = "resolved", "Resolved"

    title = models.CharField(max_length=200)
    priority = models.CharField(max_length=2, choices=Priority.choices)
    # The rule that set the priority, in words the founder can check ("monitor api down: P0").
    priority_reason = models.TextField(blank=True)
    # The agent's own reading (may differ from the rules; the higher priority wins).
    assessment = models.TextField(blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.INVESTIGATING)
    cause = models.CharField(max_length=50, blank=True, help_text="The correlating cause")
    components = models.ManyToManyField(Component, blank=True, related_name="incidents")
    # When the fault began (first failing check), was detected (incident opened),
    # acknowledged and resolved: MTTD, MTTA and MTTR are differences of these.
    started_at = models.DateTimeField(db_index=True)
    detected_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The SLA: acknowledge by `respond_by`; until then the founder is re-notified.
    respond_by = models.DateTimeField(null=True, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    notifications_sent = models.PositiveIntegerField(default=0)
    diagnostics = models.JSONField(default=dict, blank=True)
    plan = models.TextField(blank=True, help_text="The agent's recommended plan")
    postmortem = models.TextField(blank=True, help_text="Markdown draft, written when resolved")
    postmortem_drafted_at = models.DateTimeField(null=True, blank=True)
    public = models.BooleanField(default=True, help_text="Shown on the public status page")
    # Set when the founder edits the draft: a later resolve never overwrites their words.
    postmortem_edited_at = models.DateTimeField(null=True, blank=True)
    # Why the founder is not paged for it ("opened during maintenance …"); "" pages as usual.
    muted_reason = models.CharField(max_length=300, blank=True)
    # A duplicate folded into another incident: resolved, and left out of the counts.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged"
    )

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["state", "started_at"])]

    def __str__(self) -> str:
        return f"{self.priority} {self.title}"

    @property
    def public_title(self) -> str:
        """The title customers see. An incident the detectors opened is titled after a monitor
        and an HTTP code, which mean nothing to them; one written by hand is shown as is."""
        if not self.alerts.exists():
            return self.title
        names = [c.name for c in self.components.all() if c.public]
        subject = " and ".join(names) if names else "our service"
        if self.cause == "slow":
            return f"Slow responses on {subject}"
        return {
            "P0": f"Outage of {subject}",
            "P1": f"Errors on {subject}",
            "P2": f"Degraded performance on {subject}",
        }.get(self.priority, f"Minor issue with {subject}")


class Alert(models.Model):
    """One firing signal; the same fingerprint firing again updates this row, never a new one."""

    class Source(models.TextChoices):
        CHECK = "check", "Check"
        ANOMALY = "anomaly", "Metric anomaly"
        LOG = "log", "Error logs"
        DEPLOY = "deploy", "Deploy"
        MANUAL = "manual", "Reported by hand"

    class State(models.TextChoices):
        FIRING = "firing", "Firing"
        RESOLVED = "resolved", "Resolved"

    fingerprint = models.CharField(max_length=200)
    source = models.CharField(max_length=20, choices=Source.choices)
    # What went wrong, for correlation and the priority rules: down, slow, error_rate,
    # new_error, tls, dns, heartbeat, deploy_failed, database, rate_limit, keyword …
    cause = models.CharField(max_length=50)
    component = models.ForeignKey(
        Component, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    title = models.CharField(max_length=200)
    state = models.CharField(max_length=20, choices=State.choices, default=State.FIRING)
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    occurrences = models.PositiveIntegerField(default=1)
    # Facts the priority rules read: {"slowdown": 0.3, "hard": true, "monitor": "api"} …
    facts = models.JSONField(default=dict, blank=True)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            # At most one firing alert per fingerprint: a re-fire updates it.
            models.UniqueConstraint(
                fields=["fingerprint"],
                condition=models.Q(state="firing"),
                name="one_firing_alert_per_fingerprint",
            )
        ]

    def __str__(self) -> str:
        return self.title


class TimelineEntry(models.Model):
    """One thing that happened during an incident, in order: checks, deploys, actions, messages."""

    class Kind(models.TextChoices):
        ALERT = "alert", "Alert"
        CHECK = "check", "Check"
        DEPLOY = "deploy", "Deploy"
        LOG = "log", "Logs"
        DIAGNOSTIC = "diagnostic", "Diagnostics"
        ACTION = "action", "Action"
        MESSAGE = "message", "Message"
        STATUS = "status", "Status update"
        PRIORITY = "priority", "Priority"
        NOTE = "note", "Note"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    actor = models.CharField(max_length=100, help_text="user:NAME, agent:monitoring or system")
    text = models.TextField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name_plural = "timeline entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind}: {self.text[:60]}"


class StatusUpdate(models.Model):
    """A message to customers about an incident; the agent drafts, the policy decides posting."""

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        DISCARDED = "discarded", "Discarded"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(max_length=20, choices=Incident.State.choices)
    body = models.TextField()
    state = models.CharField(max_length=20, choices=State.choices, default=State.DRAFT)
    created_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    author = models.CharField(max_length=100, help_text="user:NAME or agent:monitoring")

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.status}: {self.body[:60]}"


class Runbook(models.Model):
    """What to do for a known issue: a trigger, then steps, each under the autonomy policy."""

    class Source(models.TextChoices):
        UI = "ui", "Cockpit"
        CONFIG = "config", "Config file"

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    # Which incidents it answers: {"cause": "down", "component": "api", "monitor": "api-*"}.
    trigger = models.JSONField(default=dict)
    # [{"name": …, "kind": "http"|"shell"|"wait"|"check", …kind's settings}]
    steps = models.JSONField(default=list)
    enabled = models.BooleanField(default=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.UI)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RunbookRun(models.Model):
    """One runbook tried on one incident; each step's outcome is in `steps` and the timeline."""

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        WAITING = "waiting", "Waiting for approval"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        STOPPED = "stopped", "Stopped"

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="runs")
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="runbook_runs")
    state = models.CharField(max_length=20, choices=State.choices, default=State.RUNNING)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    next_step = models.PositiveIntegerField(default=0)
    # A `wait` step parks the run until then; the incidents tick resumes it.
    resume_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # One entry per step tried: {"name", "mode", "state", "output", "started_at", "finished_at"}.
    steps = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["runbook", "incident"], name="one_run_per_incident")
        ]

    def __str__(self) -> str:
        return f"{self.runbook_id} on incident {self.incident_id}: {self.state}"


class Subscriber(models.Model):
    """Someone who wants e-mail about incidents from the status page (double opt-in)."""

    email = models.EmailField(unique=True)
    created_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # Random, in confirm and unsubscribe links; stored hashed so a database leak can't use it.
    token_hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email


class SubscriberNotice(models.Model):
    """One status update e-mailed to one subscriber: one row each, so it is sent once.

    The row is claimed (`claimed_at`) before the send and marked `sent` after; a worker that
    died mid-send leaves a claim that expires, and the retry carries the same Message-ID.
    """

    class State(models.TextChoices):
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed for good"

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="notices")
    update = models.ForeignKey(StatusUpdate, on_delete=models.CASCADE, related_name="notices")
    state = models.CharField(max_length=20, choices=State.choices, default=State.SENDING)
    msgid = models.CharField(max_length=200)
    claimed_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # The server's answer, with the recipient's address replaced by <recipient>.
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-claimed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "update"], name="one_notice_per_subscriber_and_update"
            )
        ]

    def __str__(self) -> str:
        return f"update {self.update_id} to subscriber {self.subscriber_id}: {self.state}"


personal_data.not_personal(Component, ("name", "slug", "description", "status"))
personal_data.not_personal(ComponentStatusChange, ("status",))
personal_data.not_personal(
    Incident,
    (
        "title",
        "priority",
        "priority_reason",
        "assessment",
        "state",
        "cause",
        "diagnostics",
        "plan",
        "postmortem",
        "muted_reason",
    ),
)
personal_data.not_personal(Alert, ("fingerprint", "source", "cause", "title", "state", "facts"))
personal_data.not_personal(TimelineEntry, ("kind", "actor", "text", "data"))
personal_data.not_personal(StatusUpdate, ("status", "body", "state", "author"))
personal_data.not_personal(Runbook, ("name", "description", "trigger", "steps", "source"))
personal_data.not_personal(RunbookRun, ("state", "steps"))
# Subscribers are reached by their address, not through a customer record.
personal_data.personal(Subscriber, ("email",), customer_path=None)
personal_data.not_personal(Subscriber, ("token_hash",))
personal_data.not_personal(SubscriberNotice, ("state", "msgid", "last_error"))
