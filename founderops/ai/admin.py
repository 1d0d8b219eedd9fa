"""Admin for the AI layer: policies and kill switches are edited (and audited) here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from founderops.ai.models import AgentPolicy, AgentSwitch, Approval, TrainedModel
from founderops.core import audit, clock
from founderops.core.admin import ModelAdmin, ReadOnlyAdmin


def _actor(request: HttpRequest) -> str:
    return f"user:{request.user.get_username()}"


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


@admin.register(AgentPolicy)
class AgentPolicyAdmin(ModelAdmin[AgentPolicy]):
    list_display = ["agent", "action", "mode", "limits"]
    list_filter = ["agent", "mode"]

    def save_model(self, request: HttpRequest, obj: AgentPolicy, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit.record(
            _actor(request),
            "ai.policy_changed",
            ("agentpolicy", obj.pk),
            outcome=obj.mode,
            details={"agent": obj.agent, "action": obj.action, "limits": obj.limits},
        )


@admin.register(AgentSwitch)
class AgentSwitchAdmin(ModelAdmin[AgentSwitch]):
    list_display = ["agent", "enabled", "target_precision", "changed_at"]
    readonly_fields = ["changed_at"]

    def save_model(self, request: HttpRequest, obj: AgentSwitch, form: Any, change: bool) -> None:
        obj.changed_at = clock.now()
        super().save_model(request, obj, form, change)
        audit.record(
            _actor(request),
            "ai.switch_changed",
            ("agentswitch", obj.pk),
            outcome="on" if obj.enabled else "off",
            details={"agent": obj.agent, "target_precision": obj.target_precision},
        )
