"""Admin for API tokens: create (the token is shown once), rename, revoke; never the digest."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.http import HttpRequest

from founderops.api import tokens
from founderops.api.models import ApiToken
from founderops.core.admin import ModelAdmin, ModelForm

SCOPE_CHOICES = [(scope, scope) for scope in sorted(tokens.SCOPES)]


class ApiTokenForm(ModelForm[ApiToken]):
    scopes = forms.MultipleChoiceField(choices=SCOPE_CHOICES, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiToken
        fields = ["name", "scopes", "revoked"]


@admin.register(ApiToken)
class ApiTokenAdmin(ModelAdmin[ApiToken]):
    form = ApiTokenForm
    list_display = ["name", "prefix", "scopes", "user", "created_at", "last_used_at", "revoked"]
    list_filter = ["revoked"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["prefix", "user", "created_at", "last_used_at"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        if obj is None:
            return ["name", "scopes"]
        return ["name", "prefix", "scopes", "user", "created_at", "last_used_at", "revoked"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A revoked token stays revoked: make a new one instead.
        fixed = ["prefix", "user", "created_at", "last_used_at"]
        return [*fixed, "revoked"] if obj is not None and obj.revoked else fixed

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if not change:
            self.create(request, obj)
            return
        revoking = "revoked" in form.changed_data and obj.revoked
        if revoking:
            obj.revoked = False  # revoke_token sets it, and audits the revocation
        super().save_model(request, obj, form, change)
        if revoking:
            tokens.revoke_token(obj, f"user:{request.user.get_username()}")

    def create(self, request: HttpRequest, obj: ApiToken) -> None:
        assert isinstance(request.user, User)
        row, token = tokens.create_token(request.user, obj.name, list(obj.scopes))
        obj.pk = row.pk
        messages.warning(request, f"Copy the token now, it is not shown again: {token}")
