"""Forms of sign-in, two-factor login and the Team page."""

from __future__ import annotations

from typing import Any

from django import forms

from founderops.accounts.roles import Role
from founderops.api import tokens


class CodeForm(forms.Form):
    """A 6-digit code from the app, or (where allowed) one of the recovery codes."""

    code = forms.CharField(
        label="Code",
        max_length=20,
        strip=True,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "text",
                "autocapitalize": "none",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )


class AddMemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(label="E-mail", required=False)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.AGENT)
    password = forms.CharField(
        label="Initial password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to get a one-time link where they choose their own.",
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What it is for, e.g. “helpdesk webhook”.")
    scopes = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in sorted(tokens.SCOPES)],
        widget=forms.CheckboxSelectMultiple,
    )

    def scope_list(self) -> list[str]:
        chosen: list[Any] = self.cleaned_data["scopes"]
        return [str(scope) for scope in chosen]
