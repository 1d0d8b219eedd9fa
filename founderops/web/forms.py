"""The cockpit's forms: the founder's decision on an escalation, relabelling, filters."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from founderops.ai.models import Approval
from founderops.support.models import Ticket

NO_LABEL = ("", "— leave unlabelled —")


class DecisionForm(forms.Form):
    """Approve (as drafted or edited) or reject one pending approval."""

    approval = forms.IntegerField(widget=forms.HiddenInput)
    body = forms.CharField(
        label="Reply",
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 10, "placeholder": "Write the reply…"}),
    )
    intent = forms.ChoiceField(label="Intent", required=False)

    def __init__(self, *args: Any, intents: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["intent"]).choices = [NO_LABEL, *intents]

    def clean_body(self) -> str:
        # Browsers submit a textarea's line breaks as CRLF; the draft (and email) use LF, and
        # an untouched draft must still count as approved, not edited.
        body: str = self.cleaned_data["body"]
        return body.replace("\r\n", "\n").replace("\r", "\n")

    @classmethod
    def for_approval(
        cls, approval: Approval, intents: list[tuple[str, str]], body: str | None = None
    ) -> DecisionForm:
        """The pending decision with the agent's draft (or `body`, e.g. a saved reply)."""
        suggested = str(approval.payload.get("intent", ""))
        known = {value for value, _ in intents}
        initial = {
            "approval": approval.pk,
            "body": body if body is not None else str(approval.payload.get("draft", "")),
            "intent": suggested if suggested in known else "",
        }
        return cls(initial=initial, intents=intents)


class RelabelForm(forms.Form):
    """Correct the intent of a ticket the agent already handled."""

    intent = forms.ChoiceField(label="Correct intent")

    def __init__(self, *args: Any, intents: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["intent"]).choices = intents


class FilterForm(forms.Form):
    """A GET form of filters: labels without a trailing colon."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class DayInput(forms.DateInput):
    input_type = "date"


def day_field(label: str) -> forms.DateField:
    return forms.DateField(label=label, required=False, widget=DayInput())


RATING_CHOICES = [
    ("", "Rated or not"),
    ("rated", "Rated"),
    ("good", "Rated good"),
    ("bad", "Rated not good"),
    ("none", "Not rated"),
]


class TicketFilterForm(FilterForm):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.SearchInput(
            attrs={"placeholder": "Subject, customer, message or #id", "data-shortcut": "search"}
        ),
    )
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any status"), *Ticket.Status.choices]
    )
    channel = forms.ChoiceField(
        label="Channel", required=False, choices=[("", "Any channel"), *Ticket.Channel.choices]
    )
    priority = forms.ChoiceField(
        label="Priority",
        required=False,
        choices=[("", "Any priority"), *[(str(v), n) for v, n in Ticket.Priority.choices]],
    )
    intent = forms.ChoiceField(label="Intent", required=False)
    sentiment = forms.ChoiceField(
        label="Sentiment",
        required=False,
        choices=[("", "Any sentiment"), *Ticket.Sentiment.choices],
    )
    since = day_field("From")
    until = day_field("To")
    rating = forms.ChoiceField(label="Rating", required=False, choices=RATING_CHOICES)

    def __init__(self, *args: Any, intents: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [
            ("", "Any intent"),
            *[(i, "unknown request" if i == "oos" else i) for i in intents],
        ]
        cast(forms.ChoiceField, self.fields["intent"]).choices = choices


class AuditFilterForm(FilterForm):
    actor = forms.CharField(
        label="Actor",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "user:fiona or agent:"}),
    )
    action = forms.CharField(
        label="Action",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"list": "audit-actions", "placeholder": "any action"}),
    )
    subject = forms.CharField(
        label="Subject",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "ticket:42"}),
    )
    since = day_field("From")
    until = day_field("To")


def cleaned(form: forms.Form) -> dict[str, Any]:
    """The valid fields of a filter form; an invalid field filters nothing."""
    form.is_valid()
    return {name: form.cleaned_data.get(name) or "" for name in form.fields}
