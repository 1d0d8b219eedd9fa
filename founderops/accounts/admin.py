"""Admin for roles; team members are managed on the cockpit's Team page."""

from __future__ import annotations

from django.contrib import admin

from founderops.accounts.models import Membership
from founderops.core.admin import ModelAdmin


@admin.register(Membership)
class MembershipAdmin(ModelAdmin[Membership]):
    list_display = ["user", "role", "created_at"]
    list_filter = ["role"]
