"""Who may do what: every cockpit account has one role."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from founderops.core import personal_data


class Membership(models.Model):
    """A team member's role. Accounts without one: superusers are owners, staff are agents."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner: everything, including team, settings and policies"
        AGENT = "agent", "Agent: answers tickets and decides approvals"
        VIEWER = "viewer", "Read-only: sees everything, changes nothing"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.AGENT)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.user}: {self.role}"


personal_data.not_personal(Membership, ("role",))
