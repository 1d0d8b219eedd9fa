"""Agent settings: per agent its kill switch and target precision, per action its autonomy
policy (auto / approval / notify) and the limits of *auto*.

The page is built from `ai.policy`'s registry, so a domain that registers an agent or an
action gets its settings here with no change to this module. Anyone on the team may look;
only owners change (every change is audited by `ai.policy`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from founderops.accounts.roles import Role
from founderops.ai import policy
from founderops.ai.models import AgentSwitch
from founderops.core import audit_words
from founderops.core.errors import InvalidInput, NotFound
from founderops.core.models import AuditEvent
from founderops.core.money import exponent, is_currency, to_major, to_minor
from founderops.web import access
from founderops.web.access import owner_required, staff_required

CHANGES_SHOWN = 5
CHANGE_ACTIONS = (
    "policy.changed",
    "agent.switched_off",
    "agent.switched_on",
    "agent.target_precision_changed",
)


class PrecisionForm(forms.Form):
    target_precision = forms.DecimalField(
        label="Target precision (%)",
        min_value=Decimal("50"),
        max_value=Decimal("99.9"),
        decimal_places=1,
        help_text="Share of automatic answers that must be right. Higher: fewer, safer answers.",
    )


class PolicyForm(forms.Form):
    mode = forms.ChoiceField(label="Mode", choices=policy.Mode.choices)

    def __init__(self, *args: Any, action: policy.Action, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", f"{action.agent}-{action.name}")
        super().__init__(*args, **kwargs)
        self.action = action
        if "max_amount" in action.limits:
            self.fields["max_amount"] = forms.DecimalField(
                label="Up to (amount)", required=False, min_value=0, decimal_places=3
            )
            self.fields["currency"] = forms.CharField(
                label="Currency",
                required=False,
                max_length=3,
                widget=forms.TextInput(
                    attrs={"placeholder": "USD", "autocapitalize": "characters"}
                ),
            )
        if "max_age_days" in action.limits:
            low, high = policy.AGE_RANGE
            self.fields["max_age_days"] = forms.IntegerField(
                label="Within (days)", required=False, min_value=low, max_value=high
            )

    @classmethod
    def for_policy(cls, current: policy.Policy) -> PolicyForm:
        limits = current.limits
        initial: dict[str, Any] = {"mode": current.mode, "max_age_days": limits.max_age_days}
        if limits.max_amount is not None:
            initial["max_amount"] = to_major(limits.max_amount, limits.currency)
            initial["currency"] = limits.currency
        return cls(initial=initial, action=current.action)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        currency = str(data.get("currency") or "").strip().upper()
        data["currency"] = currency
        if data.get("max_amount") is not None and not currency:
            self.add_error("currency", "Say which currency the amount is in, e.g. USD.")
        elif currency and not is_currency(currency):
            self.add_error(
                "currency",
                f"{currency} is not an ISO 4217 currency: use a code such as USD or EUR.",
            )
        amount = data.get("max_amount")
        places = exponent(currency) if currency else 2
        if amount is None:
            return data
        if amount >= policy.MAX_AMOUNT:
            unit = f" {currency}" if currency else ""
            self.add_error("max_amount", f"The maximum must be below {policy.MAX_AMOUNT:,}{unit}.")
        elif amount != amount.quantize(Decimal(1).scaleb(-places)):
            self.add_error("max_amount", _too_precise(currency, places))
        elif amount == 0 and data.get("mode") == policy.Mode.AUTO:
            self.add_error(
                "max_amount",
                f"A maximum of 0 lets no {self.action.noun} through automatically: "
                "to be asked each time, choose approval instead.",
            )
        return data

    def limits(self) -> policy.Limits:
        data = self.cleaned_data
        amount = data.get("max_amount")
        return policy.Limits(
            max_amount=to_minor(amount, data["currency"]) if amount is not None else None,
            currency=data["currency"] if amount is not None else "",
            max_age_days=data.get("max_age_days"),
        )


def _too_precise(currency: str, places: int) -> str:
    if places == 0:
        return f"{currency} has no cents: give a whole amount."
    return f"{currency} amounts have at most {places} decimals."


@dataclass(frozen=True)
class Change:
    """A change to an agent's settings, in words ("Refund policy changed to auto (…)")."""

    event: AuditEvent
    what: str
    actor: str


@dataclass
class AgentSettings:
    agent: policy.Agent
    enabled: bool
    precision: float | None
    precision_form: PrecisionForm | None
    policies: list[tuple[policy.Policy, PolicyForm]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)


Bound = dict[str, forms.Form]


def settings_for(agent: policy.Agent, switch: AgentSwitch | None, bound: Bound) -> AgentSettings:
    """One agent's settings; `bound` holds a refused form to show again with its errors."""
    precision = None
    if agent.default_precision is not None:
        precision = switch.target_precision if switch else agent.default_precision()
    precision_form = None
    if precision is not None:
        refused = cast(PrecisionForm | None, bound.get(f"{agent.name}:precision"))
        precision_form = refused or PrecisionForm(
            initial={"target_precision": Decimal(str(round(precision * 100, 1)))},
            prefix=agent.name,
        )
    rows = [
        (
            p,
            cast(PolicyForm | None, bound.get(f"{agent.name}:{p.action.name}"))
            or PolicyForm.for_policy(p),
        )
        for p in policy.policies(agent.name)
    ]
    changes = AuditEvent.objects.filter(
        subject_type="agent", subject_id=agent.name, action__in=CHANGE_ACTIONS
    ).order_by("-id")[:CHANGES_SHOWN]
    enabled = switch is None or switch.enabled
    described = [
        Change(e, audit_words.what(e.action, e.outcome, e.details), audit_words.actor(e.actor))
        for e in changes
    ]
    return AgentSettings(agent, enabled, precision, precision_form, rows, described)


def _page(request: HttpRequest, bound: Bound | None = None, status: int = 200) -> HttpResponse:
    registered = policy.agents()
    switches = AgentSwitch.objects.in_bulk([a.name for a in registered], field_name="agent")
    context = {
        "agents": [settings_for(a, switches.get(a.name), bound or {}) for a in registered],
        "can_change": access.may(request, Role.OWNER),
        "modes": policy.Mode.choices,
    }
    return render(request, "web/agents.html", context, status=status)


@staff_required
def agent_settings(request: HttpRequest) -> HttpResponse:
    return _page(request)


def _agent(name: str) -> policy.Agent:
    try:
        return policy.get_agent(name)
    except NotFound as error:
        raise Http404(str(error)) from None


def _actor(request: HttpRequest) -> str:
    return f"user:{access.founder(request).get_username()}"


@owner_required
@require_POST
def agent_switch(request: HttpRequest, agent: str) -> HttpResponse:
    registered = _agent(agent)
    choice = request.POST.get("enabled")
    if choice not in {"on", "off"}:
        messages.error(request, "Nothing changed: say whether the agent is on or off.")
        return redirect("web:agents")
    policy.switch_agent(agent, choice == "on", _actor(request))
    if choice == "on":
        messages.success(request, f"The {registered.label} is on again.")
    else:
        messages.warning(
            request, f"The {registered.label} is off: everything it would do waits for you."
        )
    return redirect(f"{_url()}#agent-{agent}")


@owner_required
@require_POST
def agent_precision(request: HttpRequest, agent: str) -> HttpResponse:
    registered = _agent(agent)
    form = PrecisionForm(request.POST, prefix=agent)
    if not form.is_valid():
        return _page(request, {f"{agent}:precision": form}, status=400)
    value = float(form.cleaned_data["target_precision"]) / 100
    try:
        policy.set_target_precision(agent, value, _actor(request))
    except InvalidInput as error:
        form.add_error(None, str(error))
        return _page(request, {f"{agent}:precision": form}, status=400)
    messages.success(
        request,
        f"The {registered.label} now aims at {value:.1%}; it is retrained in the background.",
    )
    return redirect(f"{_url()}#agent-{agent}")


@owner_required
@require_POST
def agent_policy(request: HttpRequest, agent: str, action: str) -> HttpResponse:
    _agent(agent)
    try:
        registered = policy.get_action(agent, action)
    except NotFound as error:
        raise Http404(str(error)) from None
    form = PolicyForm(request.POST, action=registered)
    if not form.is_valid():
        return _page(request, {f"{agent}:{action}": form}, status=400)
    try:
        saved = policy.set_policy(
            agent, action, form.cleaned_data["mode"], form.limits(), _actor(request)
        )
    except InvalidInput as error:
        form.add_error(None, str(error))
        return _page(request, {f"{agent}:{action}": form}, status=400)
    limits = saved.limits.describe()
    messages.success(
        request,
        f"Policy for {registered.noun}: {saved.mode}{f' ({limits})' if limits else ''}. "
        "The next request follows it.",
    )
    return redirect(f"{_url()}#policy-{agent}-{action}")


def _url() -> str:
    return reverse("web:agents")
