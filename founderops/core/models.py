"""The audit trail: every agent decision and action, chained by hash so edits show."""

from __future__ import annotations

from typing import Any

from django.db import models

from founderops.core import personal_data


class AuditEvent(models.Model):
    created_at = models.DateTimeField(db_index=True)
    actor = models.CharField(max_length=100, help_text="agent:support, user:alice, system")
    action = models.CharField(max_length=100, db_index=True)
    subject_type = models.CharField(max_length=100, blank=True)
    subject_id = models.CharField(max_length=100, blank=True)
    inputs = models.JSONField(default=dict, blank=True)
    model = models.CharField(max_length=200, blank=True)
    model_version = models.CharField(max_length=100, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    outcome = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)
    previous_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["subject_type", "subject_id"])]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.outcome}"

    def as_record(self) -> dict[str, Any]:
        return {
            "id": self.pk,
            "created_at": self.created_at.isoformat(),
            "actor": self.actor,
            "action": self.action,
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
            "inputs": self.inputs,
            "model": self.model,
            "model_version": self.model_version,
            "confidence": self.confidence,
            "outcome": self.outcome,
            "details": self.details,
            "previous_hash": self.previous_hash,
            "hash": self.hash,
        }


# Inputs quote what a customer wrote; a privacy request finds them through the subject.
personal_data.personal(AuditEvent, ("inputs", "details"), customer_path=None)
personal_data.not_personal(
    AuditEvent,
    (
        "actor",
        "action",
        "subject_type",
        "subject_id",
        "model",
        "model_version",
        "outcome",
        "previous_hash",
        "hash",
    ),
)


class RateCounter(models.Model):
    """Hits on one key in one fixed window (login failures, widget questions, mail senders).

    Kept in the database so every web and worker process counts against the same limit.
    """

    key = models.CharField(max_length=200)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window_start"], name="ratecounter_unique")
        ]
        indexes = [models.Index(fields=["window_start"])]

    def __str__(self) -> str:
        return f"{self.key} @ {self.window_start:%H:%M}: {self.count}"


# Keys hold a keyed hash of an IP or e-mail address (ratelimit.key_for), never the address.
personal_data.not_personal(RateCounter, ("key",))


class NotificationRoute(models.Model):
    """Where notifications of some events go: one apprise URL, sealed at rest.

    The URL holds the service's token, so it is stored encrypted (`core.secrets`) and shown
    only as `target` (scheme and fingerprint, `core.notify.redact`).
    """

    name = models.CharField(max_length=100)
    url_sealed = models.TextField()
    target = models.CharField(max_length=80)
    events = models.JSONField(default=list, help_text='event names, or ["*"] for every event')
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    urgent_breaks_quiet = models.BooleanField(default=True)
    digest_minutes = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.target})"


# A route is the founder's own configuration; the sealed URL is a secret, not personal data.
personal_data.not_personal(NotificationRoute, ("name", "url_sealed", "target", "events"))


class Notification(models.Model):
    """One event for the founder (the outbox): stored before anything is sent."""

    created_at = models.DateTimeField(db_index=True)
    event = models.CharField(max_length=40, db_index=True)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True)
    urgent = models.BooleanField(default=False)
    key = models.CharField(
        max_length=200, blank=True, help_text="publishing a key twice stores once"
    )
    routed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=~models.Q(key=""), name="notification_key_unique"
            )
        ]
        indexes = [models.Index(fields=["routed_at"])]

    def __str__(self) -> str:
        return f"{self.event}: {self.title}"


# Titles and bodies quote tickets (a customer's name, a subject); found through the link.
personal_data.personal(Notification, ("title", "body"), customer_path=None)
personal_data.not_personal(Notification, ("event", "link", "key"))


class NotificationDelivery(models.Model):
    """One notification to one target, with its attempts: what the cockpit shows."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        HELD = "held", "Held for quiet hours"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Not sent"

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    route = models.ForeignKey(
        NotificationRoute,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    default_route = models.BooleanField(default=False, help_text="from FOUNDEROPS_NOTIFY_URLS")
    route_name = models.CharField(max_length=100)
    target = models.CharField(max_length=80)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    bundle_size = models.PositiveIntegerField(default=0, help_text="notifications in its message")
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "target"], name="notificationdelivery_once_per_target"
            )
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.notification_id} → {self.target}: {self.state}"


# Errors are scrubbed of the URL (core.notify.scrub); targets are fingerprints.
personal_data.not_personal(
    NotificationDelivery, ("route_name", "target", "state", "claim", "error")
)
