"""API tokens: only a SHA-256 of the token is stored; the token is shown once."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from founderops.core import personal_data


class ApiToken(models.Model):
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    created_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


personal_data.not_personal(ApiToken, ("name", "prefix", "digest", "scopes"))
