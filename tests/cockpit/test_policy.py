"""Autonomy policies (ai.policy): auto only inside the limits, off when switched off, audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings

from founderops.ai import policy
from founderops.ai.models import AgentPolicy, AgentSwitch
from founderops.core.errors import InvalidInput, NotFound
from founderops.core.models import AuditEvent

pytestmark = pytest.mark.django_db

FIONA = "user:fiona"
REFUND_LIMITS = policy.Limits(max_amount=5000, currency="USD", max_age_days=14)


@pytest.fixture(autouse=True)
def refunds(monkeypatch: pytest.MonkeyPatch) -> policy.Action:
    """A billing agent that refunds, registered for this test only (beside support's)."""
    fresh = policy._Registry(dict(policy._registry.agents), dict(policy._registry.actions))
    monkeypatch.setattr(policy, "_registry", fresh)
    policy.register_agent("billing", "Billing Agent", "Refunds and credits")
    return policy.register("billing", "refund", "Refund a payment", noun="refunds")


def set_refunds(mode: str, limits: policy.Limits = REFUND_LIMITS) -> policy.Policy:
    return policy.set_policy("billing", "refund", mode, limits, FIONA)


def test_it_registers_support_and_its_reply_action_at_start() -> None:
    assert policy.get_agent("support").label == "Support Agent"
    assert policy.get_action("support", "reply").default_mode == "auto"


def test_it_lists_every_registered_action_of_an_agent(refunds: policy.Action) -> None:
    policy.register("billing", "credit", "Give account credit")
    assert [a.name for a in policy.actions("billing")] == ["refund", "credit"]


def test_it_refuses_a_limit_it_does_not_know() -> None:
    with pytest.raises(InvalidInput, match="unknown limits"):
        policy.register("billing", "gift", "Send a gift", limits=("max_weight",))


def test_it_uses_the_registered_mode_until_the_founder_writes_a_policy() -> None:
    assert policy.verdict("billing", "refund", 100, 1, "USD").mode == "approval"


def test_it_acts_alone_inside_every_limit() -> None:
    set_refunds("auto")
    decided = policy.verdict("billing", "refund", amount_minor=5000, age_days=14, currency="USD")
    assert decided == policy.Verdict("auto", "inside the policy")
    assert decided.acts_alone


def test_it_asks_when_the_amount_is_over_the_limit() -> None:
    set_refunds("auto")
    decided = policy.verdict("billing", "refund", amount_minor=5001, age_days=1, currency="USD")
    assert decided == policy.Verdict("approval", "50.01 USD is over the 50.00 USD limit")


def test_it_asks_when_the_payment_is_too_old() -> None:
    set_refunds("auto")
    decided = policy.verdict(
        "billing", "refund", amount_minor=100, age_days=15, currency="USD", age_of="the charge"
    )
    assert decided == policy.Verdict("approval", "the charge is 15 days old, over the 14-day limit")


def test_it_says_what_is_too_old_even_when_the_caller_does_not() -> None:
    set_refunds("auto", policy.Limits(5000, "USD", 1))
    decided = policy.verdict("billing", "refund", amount_minor=100, age_days=2, currency="USD")
    assert decided.reason == "it is 2 days old, over the 1-day limit"


def test_it_gives_the_limits_it_judged_against_with_the_verdict() -> None:
    set_refunds("auto")
    decided = policy.verdict("billing", "refund", amount_minor=100, age_days=1, currency="USD")
    assert decided.limits == REFUND_LIMITS


def test_it_describes_a_one_day_limit_in_the_singular() -> None:
    assert policy.Limits(5000, "USD", 1).describe() == "up to 50.00 USD, within 1 day"


def test_it_asks_when_the_amount_is_unknown() -> None:
    set_refunds("auto")
    decided = policy.verdict("billing", "refund", age_days=1)
    assert decided.mode == "approval"
    assert "amount is unknown" in decided.reason


def test_it_asks_when_the_currency_differs_from_the_limit() -> None:
    set_refunds("auto")
    decided = policy.verdict("billing", "refund", amount_minor=100, age_days=1, currency="eur")
    assert decided == policy.Verdict("approval", "the amount is in EUR, the limit in USD")


def test_it_refuses_automatic_money_actions_without_a_maximum_amount() -> None:
    with pytest.raises(InvalidInput, match="automatic refunds need a maximum amount"):
        set_refunds("auto", policy.Limits(max_age_days=14))


def test_it_asks_the_founder_when_a_stored_money_policy_has_no_cap() -> None:
    AgentPolicy.objects.create(agent="billing", action="refund", mode="auto", limits={})
    assert policy.verdict("billing", "refund", amount_minor=10**9) == policy.Verdict(
        "approval", "the policy for refunds sets no maximum amount"
    )


def test_it_acts_alone_without_limits_on_actions_that_take_no_amount() -> None:
    policy.register("billing", "receipt", "Send a receipt", limits=(), noun="receipts")
    policy.set_policy("billing", "receipt", "auto", policy.Limits(), FIONA)
    assert policy.verdict("billing", "receipt").mode == "auto"


def test_it_keeps_notify_and_approval_whatever_the_amount() -> None:
    set_refunds("notify")
    assert policy.verdict("billing", "refund", 1, 0, "USD") == policy.Verdict(
        "notify", "policy for refunds is 'notify'"
    )


def test_it_says_off_when_the_agent_is_switched_off() -> None:
    set_refunds("auto")
    policy.switch_agent("billing", False, FIONA)
    assert policy.verdict("billing", "refund", 1, 0, "USD") == policy.Verdict(
        "off", "the Billing Agent is switched off"
    )


def test_it_asks_for_an_action_nobody_registered() -> None:
    decided = policy.verdict("billing", "delete_everything")
    assert decided.mode == "approval"
    assert "no policy is registered" in decided.reason


def test_it_audits_a_policy_change_with_what_it_was_before() -> None:
    set_refunds("auto")
    event = AuditEvent.objects.get(action="policy.changed")
    assert (event.actor, event.subject_type, event.subject_id) == (FIONA, "agent", "billing")
    assert event.outcome == "auto"
    assert event.details["limits"] == {"max_amount": 5000, "currency": "USD", "max_age_days": 14}
    assert event.details["before"] == {"mode": "approval", "limits": {}}


def test_it_records_nothing_when_a_policy_is_saved_unchanged() -> None:
    set_refunds("auto")
    set_refunds("auto")
    assert AuditEvent.objects.filter(action="policy.changed").count() == 1


def test_it_refuses_a_limit_the_action_does_not_take() -> None:
    with pytest.raises(InvalidInput, match="takes no max_amount limit"):
        policy.set_policy("support", "reply", "auto", policy.Limits(100, "USD"), FIONA)


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (policy.Limits(max_amount=-1, currency="USD"), "cannot be negative"),
        (policy.Limits(max_amount=100, currency="dollars"), "ISO-4217"),
        (policy.Limits(max_amount=5000, currency="XYZ"), "'XYZ' is not an ISO-4217 currency"),
        (policy.Limits(max_amount=5000, currency="usd"), "not an ISO-4217 currency"),
        (policy.Limits(max_amount=5000), "say which currency"),
        (policy.Limits(10**9, "USD"), "must be below 10,000,000 USD"),
        (policy.Limits(10**7, "JPY"), "must be below 10,000,000 JPY"),
        (policy.Limits(10**20, "USD"), "must be below 10,000,000 USD"),
        (policy.Limits(5000, "USD", max_age_days=-3), "cannot be negative"),
        (policy.Limits(5000, "USD", max_age_days=0), "between 1 and 365 days"),
        (policy.Limits(5000, "USD", max_age_days=99999999999), "between 1 and 365 days"),
    ],
)
def test_it_refuses_malformed_limits(limits: policy.Limits, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        set_refunds("auto", limits)
    assert not AgentPolicy.objects.exists()


def test_it_takes_a_cap_just_below_ten_million_units_and_a_year() -> None:
    limits = policy.Limits(10**9 - 1, "USD", 365)
    assert set_refunds("auto", limits).limits == limits


def test_it_refuses_an_automatic_maximum_of_zero_and_suggests_approval() -> None:
    with pytest.raises(InvalidInput, match=r"lets no refunds through.*choose approval instead"):
        set_refunds("auto", policy.Limits(0, "USD", 14))
    assert not AgentPolicy.objects.exists()


def test_it_keeps_a_maximum_of_zero_under_approval() -> None:
    assert set_refunds("approval", policy.Limits(0, "USD", 14)).mode == "approval"


@pytest.mark.parametrize(
    "limits",
    [
        {"max_amount": 5000, "currency": "XYZ", "max_age_days": 14},
        {"max_amount": 10**20, "currency": "USD"},
        {"max_amount": 5000, "currency": "USD", "max_age_days": 99999999999},
    ],
)
def test_it_asks_when_a_stored_policy_is_out_of_bounds(limits: dict[str, Any]) -> None:
    AgentPolicy.objects.create(agent="billing", action="refund", mode="auto", limits=limits)
    decided = policy.verdict("billing", "refund", amount_minor=100, age_days=1, currency="USD")
    assert decided.mode == "approval"
    assert "the policy for refunds has unreadable limits" in decided.reason


def test_it_refuses_an_unknown_mode() -> None:
    with pytest.raises(InvalidInput, match="unknown mode"):
        set_refunds("sometimes")


def test_it_refuses_an_unknown_agent() -> None:
    with pytest.raises(NotFound):
        policy.switch_agent("marketing", False, FIONA)


def test_it_audits_switching_an_agent_off_and_on() -> None:
    policy.switch_agent("billing", False, FIONA)
    policy.switch_agent("billing", False, FIONA)
    policy.switch_agent("billing", True, FIONA)
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "outcome"))
    assert actions == [("agent.switched_off", "off"), ("agent.switched_on", "on")]


def test_it_keeps_the_configured_precision_when_the_switch_row_is_made(settings: Any) -> None:
    settings.SUPPORT_TARGET_PRECISION = 0.9
    policy.switch_agent("support", False, FIONA)
    assert AgentSwitch.objects.get(agent="support").target_precision == 0.9
    assert policy.target_precision("support") == 0.9


def test_it_reads_the_precision_from_settings_until_the_founder_sets_one() -> None:
    assert policy.target_precision("support") == settings.SUPPORT_TARGET_PRECISION


def test_it_queues_a_retrain_when_the_target_precision_changes(
    queued: list[tuple[str, tuple[Any, ...]]], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        policy.set_target_precision("support", 0.98, FIONA)
    assert queued == [("founderops.support.tasks.refresh_classifier", ())]
    event = AuditEvent.objects.get(action="agent.target_precision_changed")
    assert event.details["after"] == 0.98
    assert policy.target_precision("support") == 0.98


def test_it_neither_retrains_nor_audits_an_unchanged_precision(
    queued: list[tuple[str, tuple[Any, ...]]], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        policy.set_target_precision("support", settings.SUPPORT_TARGET_PRECISION, FIONA)
    assert queued == []
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("value", [0.3, 1.0])
def test_it_refuses_a_precision_out_of_range(value: float) -> None:
    with pytest.raises(InvalidInput, match="between"):
        policy.set_target_precision("support", value, FIONA)


def test_it_refuses_a_precision_for_an_agent_without_a_classifier() -> None:
    with pytest.raises(InvalidInput, match="has no target precision"):
        policy.set_target_precision("billing", 0.9, FIONA)


def test_it_asks_when_stored_limits_cannot_be_read() -> None:
    AgentPolicy.objects.create(
        agent="billing", action="refund", mode="auto", limits={"max_amount": "lots"}
    )
    decided = policy.verdict("billing", "refund", amount_minor=1, currency="USD")
    assert decided.mode == "approval"
    assert "unreadable limits: max_amount must be a whole number" in decided.reason
