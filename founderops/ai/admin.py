"""Admin for the AI layer: read-only records; policies and switches change in the cockpit."""

from __future__ import annotations

from django.contrib import admin

from founderops.ai.models import AgentPolicy, AgentSwitch, Approval, TrainedModel
from founderops.core.admin import ReadOnlyAdmin


@admin.register(TrainedModel)
class TrainedModelAdmin(ReadOnlyAdmin):
    # The blob is the pickled model: large, binary, and it quotes training texts.
    fields = ["name", "version", "created_at", "n_examples", "metrics"]
    list_display = ["name", "version", "n_examples", "created_at"]
    list_filter = ["name"]


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdmin):
    # Decisions are made in the approval inbox, which carries them out and audits them.
    list_display = ["summary", "agent", "action", "status", "created_at", "decided_by"]
    list_filter = ["status", "agent", "action"]
    search_fields = ["summary", "subject_id"]


# Policies and kill switches change on the cockpit's Agents page, through `ai.policy`, which
# checks the limits and audits; here they are only shown.
@admin.register(AgentPolicy)
class AgentPolicyAdmin(ReadOnlyAdmin):
    list_display = ["agent", "action", "mode", "limits"]
    list_filter = ["agent", "mode"]


@admin.register(AgentSwitch)
class AgentSwitchAdmin(ReadOnlyAdmin):
    list_display = ["agent", "enabled", "target_precision", "changed_at"]
