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
