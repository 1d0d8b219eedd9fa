"""Autonomy policies: what each agent may do alone, within which limits, and its kill switch.

Domains register their agents and actions here when their app is ready; the cockpit's agents
page is built from this registry, so a new domain's actions appear there with no cockpit
change. Nothing here knows a domain: agents and actions are names, and "retrain after the
target precision changed" is a job's dotted path that the agent registered.

Every action has one of three modes: *auto* (the agent acts alone, but only inside the
limits), *approval* (the founder decides first) and *notify* (the founder is told and acts).
A switched-off agent gets the verdict *off*: it does nothing on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from founderops.ai.models import AgentPolicy, AgentSwitch
from founderops.core import audit, clock, jobs
from founderops.core.errors import InvalidInput, NotFound
from founderops.core.money import Money, exponent, is_currency

Mode = AgentPolicy.Mode
OFF = "off"
LIMIT_NAMES = ("max_amount", "max_age_days")
PRECISION_RANGE = (0.5, 0.999)
# The bounds of a limit: amounts below 10^7 whole units of their currency (the CSV import's
# bound), ages from a day to a year. A typo ("1e20", "99999999999") must not mean "anything".
MAX_AMOUNT = 10**7
AGE_RANGE = (1, 365)


@dataclass(frozen=True)
class Agent:
    name: str
    label: str
    description: str = ""
    # Queued (by dotted path) after the founder changes the target precision; "" for none.
    retrain_job: str = ""
    # The target precision when the founder has set none; None: the agent has no classifier.
    default_precision: Callable[[], float] | None = None


@dataclass(frozen=True)
class Action:
    agent: str
    name: str
    description: str
    limits: tuple[str, ...] = LIMIT_NAMES
    default_mode: str = Mode.APPROVAL
    # How reasons name these actions: "policy for refunds is 'approval'".
    noun: str = ""


@dataclass(frozen=True)
class Limits:
    """The bounds of *auto*: amounts in minor units of one currency, ages in days."""

    max_amount: int | None = None
    currency: str = ""
    max_age_days: int | None = None

    @classmethod
    def from_json(cls, data: object) -> Limits:
        """Limits as stored; a malformed row (edited by hand) raises InvalidInput."""
        if not isinstance(data, dict):
            raise InvalidInput(f"limits must be an object, got {data!r}")
        amount, age = data.get("max_amount"), data.get("max_age_days")
        for name, value in (("max_amount", amount), ("max_age_days", age)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise InvalidInput(f"{name} must be a whole number, got {value!r}")
        return check(cls(amount, str(data.get("currency") or ""), age))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.max_amount is not None:
            data.update(max_amount=self.max_amount, currency=self.currency)
        if self.max_age_days is not None:
            data["max_age_days"] = self.max_age_days
        return data

    def describe(self) -> str:
        parts = []
        if self.max_amount is not None:
            parts.append(f"up to {Money(self.max_amount, self.currency)}")
        if self.max_age_days is not None:
            parts.append(f"within {days(self.max_age_days)}")
        return ", ".join(parts)


def days(count: int) -> str:
    """ "1 day", "14 days"."""
    return f"{count} day{'' if count == 1 else 's'}"


def check(limits: Limits) -> Limits:
    """The limits, if each is inside its bounds; InvalidInput says which is not. Stored rows
    are read through this too, so a policy with a bad currency or a huge cap cannot bind."""
    if limits.max_amount is not None:
        currency = limits.currency
        if not currency:
            raise InvalidInput("say which currency the maximum amount is in, e.g. USD")
        if not is_currency(currency) or currency != currency.upper():
            raise InvalidInput(
                f"{currency!r} is not an ISO-4217 currency; use a code such as USD or EUR"
            )
        if limits.max_amount < 0:
            raise InvalidInput("the maximum amount cannot be negative")
        if limits.max_amount >= MAX_AMOUNT * 10 ** exponent(currency):
            raise InvalidInput(f"the maximum amount must be below {MAX_AMOUNT:,} {currency}")
    if limits.max_age_days is not None:
        low, high = AGE_RANGE
        if limits.max_age_days < 0:
            raise InvalidInput("the maximum age cannot be negative")
        if not low <= limits.max_age_days <= high:
            raise InvalidInput(f"the maximum age must be between {low} and {high} days")
    return limits


@dataclass(frozen=True)
class Verdict:
    mode: str
    reason: str
    # The limits *auto* was judged against (none for the other modes); not part of equality.
    limits: Limits = field(default=Limits(), compare=False)

    @property
    def acts_alone(self) -> bool:
        return self.mode == Mode.AUTO


@dataclass
class _Registry:
    agents: dict[str, Agent] = field(default_factory=dict)
    actions: dict[tuple[str, str], Action] = field(default_factory=dict)


_registry = _Registry()


# The registry.


def register_agent(
    name: str,
    label: str,
    description: str = "",
    retrain_job: str = "",
    default_precision: Callable[[], float] | None = None,
) -> Agent:
    """Declare an agent (again: replaced, so a reloaded app registers once)."""
    agent = Agent(name, label, description, retrain_job, default_precision)
    _registry.agents[name] = agent
    return agent


def register(
    agent: str,
    action: str,
    description: str,
    limits: tuple[str, ...] = LIMIT_NAMES,
    default_mode: str = Mode.APPROVAL,
    noun: str = "",
) -> Action:
    """Declare an action an agent takes, the limits that bound it, and its mode by default."""
    unknown = set(limits) - set(LIMIT_NAMES)
    if unknown:
        raise InvalidInput(f"unknown limits {sorted(unknown)}; use {', '.join(LIMIT_NAMES)}")
    if default_mode not in Mode.values:
        raise InvalidInput(f"unknown mode {default_mode!r}; use {', '.join(Mode.values)}")
    _registry.agents.setdefault(agent, Agent(agent, agent.replace("_", " ").title()))
    registered = Action(
        agent, action, description, tuple(limits), default_mode, noun or action.replace("_", " ")
    )
    _registry.actions[(agent, action)] = registered
    return registered


def agents() -> list[Agent]:
    return list(_registry.agents.values())


def actions(agent: str) -> list[Action]:
    return [a for (owner, _), a in _registry.actions.items() if owner == agent]


def get_agent(name: str) -> Agent:
    if name not in _registry.agents:
        raise NotFound(f"no agent {name!r} is registered")
    return _registry.agents[name]


def get_action(agent: str, action: str) -> Action:
    if (agent, action) not in _registry.actions:
        raise NotFound(f"no action {agent}/{action} is registered")
    return _registry.actions[(agent, action)]


# What is in force.


@dataclass(frozen=True)
class Policy:
    action: Action
    mode: str
    limits: Limits
    customised: bool
    # Why the stored policy could not be read; such a policy asks the founder.
    problem: str = ""


def policy_for(action: Action, rows: dict[tuple[str, str], AgentPolicy] | None = None) -> Policy:
    """The founder's policy for the action, else the mode the domain registered."""
    if rows is None:
        row = AgentPolicy.objects.filter(agent=action.agent, action=action.name).first()
    else:
        row = rows.get((action.agent, action.name))
    if row is None:
        return Policy(action, action.default_mode, Limits(), customised=False)
    try:
        limits = Limits.from_json(row.limits)
    except InvalidInput as error:
        # Limits nobody can read bound nothing: fail safe, the founder decides.
        return Policy(action, Mode.APPROVAL, Limits(), True, f"unreadable limits: {error}")
    if row.mode not in Mode.values:
        return Policy(action, Mode.APPROVAL, limits, True, f"unknown mode {row.mode!r}")
    return Policy(action, row.mode, limits, customised=True)


def policies(agent: str) -> list[Policy]:
    """Every registered action of the agent with its policy, in one query."""
    rows = {(p.agent, p.action): p for p in AgentPolicy.objects.filter(agent=agent)}
    return [policy_for(action, rows) for action in actions(agent)]


def is_enabled(agent: str) -> bool:
    switch = AgentSwitch.objects.filter(agent=agent).first()
    return switch is None or switch.enabled


def target_precision(agent: str) -> float | None:
    """The precision the agent's classifier is calibrated for; None when it has none."""
    default = get_agent(agent).default_precision
    if default is None:
        return None
    switch = AgentSwitch.objects.filter(agent=agent).first()
    return switch.target_precision if switch else default()


def verdict(
    agent: str,
    action: str,
    amount_minor: int | None = None,
    age_days: int | None = None,
    currency: str | None = None,
    age_of: str = "it",
) -> Verdict:
    """May the agent do this alone? *auto* only inside every limit the policy sets.
    `age_of` names what `age_days` is the age of, for the reason ("the charge")."""
    if not is_enabled(agent):
        label = _registry.agents[agent].label if agent in _registry.agents else agent
        return Verdict(OFF, f"the {label} is switched off")
    if (agent, action) not in _registry.actions:
        # An action nobody declared has no policy the founder could have written: ask.
        return Verdict(Mode.APPROVAL, f"no policy is registered for {agent}/{action}")
    policy = policy_for(_registry.actions[(agent, action)])
    if policy.problem:
        return Verdict(Mode.APPROVAL, f"the policy for {policy.action.noun} has {policy.problem}")
    if policy.mode != Mode.AUTO:
        return Verdict(policy.mode, f"policy for {policy.action.noun} is '{policy.mode}'")
    if unbounded(policy.action, policy.limits):
        # A row stored before the rule (or edited by hand): no cap means the founder decides.
        return Verdict(Mode.APPROVAL, f"the policy for {policy.action.noun} sets no maximum amount")
    breach = limit_breach(policy.limits, amount_minor, currency, age_days, age_of)
    if breach:
        return Verdict(Mode.APPROVAL, breach, policy.limits)
    return Verdict(Mode.AUTO, "inside the policy", policy.limits)


def unbounded(action: Action, limits: Limits) -> bool:
    """Money actions (those that take an amount limit) are never automatic without a cap:
    an empty field on the agents page must not mean "refund anything"."""
    return "max_amount" in action.limits and limits.max_amount is None


def limit_breach(
    limits: Limits,
    amount_minor: int | None,
    currency: str | None,
    age_days: int | None,
    age_of: str = "it",
) -> str:
    """Why the request falls outside the limits, or "" when it is inside all of them."""
    if limits.max_amount is not None:
        cap = Money(limits.max_amount, limits.currency)
        if amount_minor is None:
            return f"the amount is unknown and the policy allows up to {cap}"
        if currency is not None and currency.upper() != limits.currency:
            return f"the amount is in {currency.upper()}, the limit in {limits.currency}"
        if amount_minor > limits.max_amount:
            return f"{Money(amount_minor, limits.currency)} is over the {cap} limit"
    if limits.max_age_days is not None:
        if age_days is None:
            return f"the age is unknown and the policy allows {days(limits.max_age_days)}"
        if age_days > limits.max_age_days:
            return f"{age_of} is {days(age_days)} old, over the {limits.max_age_days}-day limit"
    return ""


# Changes: each one audited with what it was before.


def validate_limits(action: Action, limits: Limits) -> Limits:
    for name in LIMIT_NAMES:
        if getattr(limits, name) is not None and name not in action.limits:
            raise InvalidInput(f"{action.agent}/{action.name} takes no {name} limit")
    return check(limits)


def zero_cap(noun: str, currency: str) -> str:
    return (
        f"a maximum of 0 {currency} lets no {noun} through automatically: "
        "to have each one asked, choose approval instead"
    )


def set_policy(agent: str, action: str, mode: str, limits: Limits, actor: str) -> Policy:
    """The founder writes the policy for one action; the next request follows it."""
    registered = get_action(agent, action)
    if mode not in Mode.values:
        raise InvalidInput(f"unknown mode {mode!r}; use {', '.join(Mode.values)}")
    validate_limits(registered, limits)
    if mode == Mode.AUTO and unbounded(registered, limits):
        raise InvalidInput(
            f"automatic {registered.noun} need a maximum amount: set one, or choose approval"
        )
    if mode == Mode.AUTO and limits.max_amount == 0:
        raise InvalidInput(zero_cap(registered.noun, limits.currency))
    with transaction.atomic():
        before = policy_for(registered)
        if before.customised and (before.mode, before.limits) == (mode, limits):
            return before
        row, _ = AgentPolicy.objects.update_or_create(
            agent=agent, action=action, defaults={"mode": mode, "limits": limits.to_json()}
        )
        audit.record(
            actor,
            "policy.changed",
            ("agent", agent),
            outcome=mode,
            details={
                "action": action,
                "policy": row.pk,
                "mode": mode,
                "limits": limits.to_json(),
                "before": {"mode": before.mode, "limits": before.limits.to_json()},
            },
        )
    return policy_for(registered)


def _switch_row(agent: Agent) -> AgentSwitch:
    default = agent.default_precision() if agent.default_precision else 0.95
    row, _ = AgentSwitch.objects.select_for_update().get_or_create(
        agent=agent.name, defaults={"target_precision": default}
    )
    return row


def switch_agent(agent: str, enabled: bool, actor: str) -> AgentSwitch:
    """The kill switch: off, the agent acts on nothing alone; on again, it resumes."""
    registered = get_agent(agent)
    with transaction.atomic():
        row = _switch_row(registered)
        if row.enabled == enabled:
            return row
        row.enabled, row.changed_at = enabled, clock.now()
        row.save(update_fields=["enabled", "changed_at"])
        audit.record(
            actor,
            "agent.switched_on" if enabled else "agent.switched_off",
            ("agent", agent),
            outcome="on" if enabled else "off",
        )
    return row


def set_target_precision(agent: str, value: float, actor: str) -> AgentSwitch:
    """A new target precision means a new threshold: the agent's classifier is retrained."""
    registered = get_agent(agent)
    if registered.default_precision is None:
        raise InvalidInput(f"the {registered.label} has no target precision")
    low, high = PRECISION_RANGE
    if not low <= value <= high:
        raise InvalidInput(f"the target precision must be between {low:.0%} and {high:.1%}")
    with transaction.atomic():
        row = _switch_row(registered)
        before = row.target_precision
        if before == value:
            return row
        row.target_precision, row.changed_at = value, clock.now()
        row.save(update_fields=["target_precision", "changed_at"])
        audit.record(
            actor,
            "agent.target_precision_changed",
            ("agent", agent),
            outcome=f"{value:.3f}",
            details={"before": before, "after": value, "retrain": registered.retrain_job},
        )
        if registered.retrain_job:
            job = registered.retrain_job
            transaction.on_commit(lambda: jobs.enqueue(job))
    return row
