"""What the AI layer keeps: trained models, the approval inbox, autonomy policies.

Nothing here knows a domain: approvals and policies name their agent and action as strings,
and each domain registers how to carry out an approved action (see approvals.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from founderops.core import personal_data


class TrainedModel(models.Model):
    name = models.CharField(max_length=100)
    version = models.PositiveIntegerField()
    created_at = models.DateTimeField()
    blob = models.BinaryField()
    n_examples = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="trainedmodel_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class Approval(models.Model):
    """One item in the founder's single approval inbox."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the founder"
        APPROVED = "approved", "Approved"
        EDITED = "edited", "Approved with edits"
        REJECTED = "rejected", "Rejected"

    created_at = models.DateTimeField(db_index=True)
    agent = models.CharField(max_length=50)
    action = models.CharField(max_length=100)
    subject_type = models.CharField(max_length=100)
    subject_id = models.CharField(max_length=100)
    summary = models.CharField(max_length=300)
    reason = models.TextField(blank=True)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    resolution = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "action", "subject_type", "subject_id"],
                condition=models.Q(status="pending"),
                name="approval_one_pending_per_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent}/{self.action}: {self.summary}"


class AgentPolicy(models.Model):
    """What an agent may do alone: auto (inside the limits), approval, or notify only."""

    class Mode(models.TextChoices):
        AUTO = "auto", "Do it automatically"
        APPROVAL = "approval", "Ask the founder first"
        NOTIFY = "notify", "Only tell the founder"

    agent = models.CharField(max_length=50)
    action = models.CharField(max_length=100)
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.APPROVAL)
    limits = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agent", "action"], name="agentpolicy_unique")
        ]

    def __str__(self) -> str:
        return f"{self.agent}/{self.action}: {self.mode}"


class AgentSwitch(models.Model):
    """The kill switch: a stopped agent takes no action at all, everything goes to a human."""

    agent = models.CharField(max_length=50, unique=True)
    enabled = models.BooleanField(default=True)
    target_precision = models.FloatField(default=0.95)
    changed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.agent}: {'on' if self.enabled else 'off'}"


# A trained model keeps its training texts (nearest-example explanations); erasing a person
# erases their examples and retrains, which replaces the blob.
personal_data.personal(TrainedModel, ("blob",), customer_path=None)
personal_data.not_personal(TrainedModel, ("name", "metrics"))
# Approval payloads can quote a customer's message; erasure reaches them via the subject.
personal_data.personal(Approval, ("summary", "reason", "payload", "resolution"), customer_path=None)
personal_data.not_personal(Approval, ("agent", "action", "subject_type", "subject_id", "status"))
personal_data.not_personal(AgentPolicy, ("agent", "action", "mode", "limits"))
personal_data.not_personal(AgentSwitch, ("agent",))
