"""Agent settings: kill switch, target precision, and a policy per action, owners only."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from founderops.ai import policy
from founderops.ai.models import AgentPolicy, AgentSwitch
from founderops.core.models import AuditEvent
from founderops.support import agents
from founderops.support.agents import LoadedClassifier, SupportDeps
from founderops.support.models import Decision, KnowledgeArticle
from tests.support.conftest import FakeClassifier
from tests.web.cast import new_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def billing(monkeypatch: pytest.MonkeyPatch) -> policy.Action:
    """Another domain's agent with a limited action, registered for this test only."""
    fresh = policy._Registry(dict(policy._registry.agents), dict(policy._registry.actions))
    monkeypatch.setattr(policy, "_registry", fresh)
    policy.register_agent("billing", "Billing Agent", "Refunds and credits")
    return policy.register("billing", "refund", "Refund a payment", noun="refunds")


def confident() -> SupportDeps:
    """The agent with a classifier sure of the intent: it answers unless a policy stops it."""
    loaded = LoadedClassifier("fake:v1", FakeClassifier(), 0.9)
    return SupportDeps(provider=None, signature="Fiona", classifier=lambda: loaded)


def policy_url(agent: str = "support", action: str = "reply") -> str:
    return reverse("web:agent_policy", kwargs={"agent": agent, "action": action})


def test_it_lists_the_support_agent_with_its_reply_policy(founder_client: Client) -> None:
    html = founder_client.get(reverse("web:agents")).content.decode()
    assert 'id="agent-support"' in html
    assert 'id="policy-support-reply-mode">auto</span>' in html
    assert "(default)" in html


def test_it_shows_the_target_precision_in_percent(founder_client: Client) -> None:
    html = founder_client.get(reverse("web:agents")).content.decode()
    assert 'name="support-target_precision" value="95.0"' in html


def test_it_lists_an_action_another_domain_registered(
    founder_client: Client, billing: policy.Action
) -> None:
    html = founder_client.get(reverse("web:agents")).content.decode()
    assert 'id="agent-billing"' in html
    assert 'name="billing-refund-max_amount"' in html
    assert 'name="billing-refund-max_age_days"' in html


def test_it_offers_no_limits_for_an_action_that_takes_none(founder_client: Client) -> None:
    html = founder_client.get(reverse("web:agents")).content.decode()
    assert "support-reply-max_amount" not in html


def test_the_next_ticket_follows_a_policy_changed_on_the_page(
    founder_client: Client, reset_article: KnowledgeArticle
) -> None:
    response = founder_client.post(policy_url(), {"support-reply-mode": "approval"})
    assert response.status_code == 302
    decision = agents.handle_ticket(new_ticket("Password", "I forgot my password"), confident())
    assert (decision.action, decision.reason) == (
        Decision.Action.ESCALATE,
        "policy for replies is 'approval'",
    )


def test_the_next_ticket_is_answered_again_once_the_policy_is_auto(
    founder_client: Client, reset_article: KnowledgeArticle
) -> None:
    founder_client.post(policy_url(), {"support-reply-mode": "approval"})
    founder_client.post(policy_url(), {"support-reply-mode": "auto"})
    decision = agents.handle_ticket(new_ticket("Password", "I forgot my password"), confident())
    assert decision.action == Decision.Action.AUTO_REPLY


def test_the_kill_switch_sends_the_next_ticket_to_the_founder(
    founder_client: Client, reset_article: KnowledgeArticle
) -> None:
    url = reverse("web:agent_switch", kwargs={"agent": "support"})
    assert founder_client.post(url, {"enabled": "off"}).status_code == 302
    decision = agents.handle_ticket(new_ticket("Password", "I forgot my password"), confident())
    assert decision.reason == "the Support Agent is switched off"
    assert AuditEvent.objects.filter(action="agent.switched_off", actor="user:fiona").exists()


def test_it_shows_a_switched_off_agent_as_off(founder_client: Client) -> None:
    founder_client.post(
        reverse("web:agent_switch", kwargs={"agent": "support"}), {"enabled": "off"}
    )
    html = founder_client.get(reverse("web:agents")).content.decode()
    assert 'id="agent-support-state">Off</span>' in html
    assert 'id="agent-support-on"' in html


def test_it_changes_nothing_for_an_unclear_switch(founder_client: Client) -> None:
    url = reverse("web:agent_switch", kwargs={"agent": "support"})
    founder_client.post(url, {"enabled": "maybe"})
    assert not AgentSwitch.objects.exists()


def test_it_retrains_after_a_new_target_precision(
    founder_client: Client,
    queued: list[tuple[str, tuple[Any, ...]]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    url = reverse("web:agent_precision", kwargs={"agent": "support"})
    with django_capture_on_commit_callbacks(execute=True):
        response = founder_client.post(url, {"support-target_precision": "97.5"})
    assert response.status_code == 302
    assert AgentSwitch.objects.get(agent="support").target_precision == 0.975
    assert queued == [("founderops.support.tasks.refresh_classifier", ())]


def test_it_refuses_a_target_precision_out_of_range(founder_client: Client) -> None:
    url = reverse("web:agent_precision", kwargs={"agent": "support"})
    response = founder_client.post(url, {"support-target_precision": "40"})
    assert response.status_code == 400
    assert "Ensure this value is greater than or equal to 50" in response.content.decode()
    assert not AgentSwitch.objects.exists()


def test_it_stores_a_three_decimal_limit_in_fils(
    founder_client: Client, billing: policy.Action
) -> None:
    data = {
        "billing-refund-mode": "auto",
        "billing-refund-max_amount": "15.250",
        "billing-refund-currency": "kwd",
        "billing-refund-max_age_days": "14",
    }
    assert founder_client.post(policy_url("billing", "refund"), data).status_code == 302
    row = AgentPolicy.objects.get(agent="billing", action="refund")
    assert row.limits == {"max_amount": 15250, "currency": "KWD", "max_age_days": 14}


def test_it_refuses_cents_beyond_the_currencys_decimals(
    founder_client: Client, billing: policy.Action
) -> None:
    data = {
        "billing-refund-mode": "auto",
        "billing-refund-max_amount": "15.125",
        "billing-refund-currency": "usd",
        "billing-refund-max_age_days": "14",
    }
    response = founder_client.post(policy_url("billing", "refund"), data)
    assert response.status_code == 400
    assert "USD amounts have at most 2 decimals." in response.content.decode()
    assert not AgentPolicy.objects.filter(agent="billing", action="refund").exists()


def test_it_stores_limits_in_minor_units_with_their_currency(
    founder_client: Client, billing: policy.Action
) -> None:
    data = {
        "billing-refund-mode": "auto",
        "billing-refund-max_amount": "50",
        "billing-refund-currency": "usd",
        "billing-refund-max_age_days": "14",
    }
    assert founder_client.post(policy_url("billing", "refund"), data).status_code == 302
    row = AgentPolicy.objects.get(agent="billing", action="refund")
    assert (row.mode, row.limits) == (
        "auto",
        {"max_amount": 5000, "currency": "USD", "max_age_days": 14},
    )
    assert policy.verdict("billing", "refund", 5001, 3, "USD").mode == "approval"


def test_it_shows_the_limits_it_stored(founder_client: Client, billing: policy.Action) -> None:
    policy.set_policy("billing", "refund", "auto", policy.Limits(5000, "USD", 14), "user:fiona")
    html = founder_client.get(reverse("web:agents")).content.decode()
    assert "up to 50.00 USD, within 14 days" in html
    assert 'name="billing-refund-max_amount" value="50.00"' in html


def test_it_refuses_an_amount_without_a_currency(
    founder_client: Client, billing: policy.Action
) -> None:
    data = {"billing-refund-mode": "auto", "billing-refund-max_amount": "50"}
    response = founder_client.post(policy_url("billing", "refund"), data)
    assert response.status_code == 400
    assert "Say which currency the amount is in" in response.content.decode()
    assert not AgentPolicy.objects.exists()


def test_it_refuses_cents_in_a_currency_without_them(
    founder_client: Client, billing: policy.Action
) -> None:
    data = {
        "billing-refund-mode": "auto",
        "billing-refund-max_amount": "10.50",
        "billing-refund-currency": "JPY",
    }
    response = founder_client.post(policy_url("billing", "refund"), data)
    assert response.status_code == 400
    assert "JPY has no cents" in response.content.decode()


def test_it_answers_404_for_an_unknown_action(founder_client: Client) -> None:
    data = {"support-teleport-mode": "auto"}
    response = founder_client.post(policy_url("support", "teleport"), data)
    assert response.status_code == 404


def test_it_answers_404_for_an_unknown_agent(founder_client: Client) -> None:
    url = reverse("web:agent_switch", kwargs={"agent": "nobody"})
    assert founder_client.post(url, {"enabled": "off"}).status_code == 404


def test_it_shows_the_recent_changes_in_words(founder_client: Client) -> None:
    founder_client.post(policy_url(), {"support-reply-mode": "notify"})
    html = founder_client.get(reverse("web:agents")).content.decode()
    changes = html.split('id="agent-support-changes"')[1].split("</ul>")[0]
    assert "<li>Reply policy changed to notify <span" in changes
    assert "policy.changed" not in html


def test_it_shows_the_limits_a_change_set(founder_client: Client, billing: policy.Action) -> None:
    policy.set_policy("billing", "refund", "auto", policy.Limits(5000, "USD", 14), "user:fiona")
    html = founder_client.get(reverse("web:agents")).content.decode()
    changes = html.split('id="agent-billing-changes"')[1].split("</ul>")[0]
    assert "Refund policy changed to auto (up to 50.00 USD, within 14 days)" in changes


def refund_form(**fields: str) -> dict[str, str]:
    data = {"mode": "auto", "max_amount": "50", "currency": "USD", "max_age_days": "14"}
    data.update(fields)
    return {f"billing-refund-{name}": value for name, value in data.items()}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"max_amount": "1e20"}, "The maximum must be below 10,000,000 USD."),
        ({"max_amount": "10000000"}, "The maximum must be below 10,000,000 USD."),
        ({"max_amount": "NaN"}, "Enter a number."),
        ({"max_amount": "-1"}, "greater than or equal to 0"),
        ({"max_age_days": "99999999999"}, "less than or equal to 365"),
        ({"max_age_days": "0"}, "greater than or equal to 1"),
        ({"currency": "XYZ"}, "XYZ is not an ISO 4217 currency: use a code such as USD or EUR."),
        (
            {"max_amount": "0"},
            "A maximum of 0 lets no refunds through automatically: "
            "to be asked each time, choose approval instead.",
        ),
    ],
)
def test_it_refuses_a_refund_limit_out_of_bounds(
    founder_client: Client, billing: policy.Action, fields: dict[str, str], message: str
) -> None:
    response = founder_client.post(policy_url("billing", "refund"), refund_form(**fields))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AgentPolicy.objects.filter(agent="billing", action="refund").exists()


def test_it_takes_a_maximum_just_below_ten_million_and_a_year(
    founder_client: Client, billing: policy.Action
) -> None:
    data = refund_form(max_amount="9999999.99", max_age_days="365")
    assert founder_client.post(policy_url("billing", "refund"), data).status_code == 302
    row = AgentPolicy.objects.get(agent="billing", action="refund")
    assert row.limits == {"max_amount": 999999999, "currency": "USD", "max_age_days": 365}


def test_it_takes_a_maximum_of_zero_under_approval(
    founder_client: Client, billing: policy.Action
) -> None:
    data = refund_form(mode="approval", max_amount="0")
    assert founder_client.post(policy_url("billing", "refund"), data).status_code == 302


def test_it_says_a_stored_policy_out_of_bounds_cannot_be_used(
    founder_client: Client, billing: policy.Action
) -> None:
    AgentPolicy.objects.create(
        agent="billing",
        action="refund",
        mode="auto",
        limits={"max_amount": 5000, "currency": "XYZ", "max_age_days": 14},
    )
    html = founder_client.get(reverse("web:agents")).content.decode()
    assert 'id="policy-billing-refund-problem"' in html
    assert "XYZ" not in html.split('id="policy-billing-refund-problem"')[0]
    assert "50.00 XYZ" not in html
    assert 'id="policy-billing-refund-mode">approval</span>' in html


def test_it_lets_an_agent_look_but_not_change(agent_client: Client) -> None:
    html = agent_client.get(reverse("web:agents")).content.decode()
    assert "Only an owner can change these settings" in html
    assert "<form" not in html.split('id="agent-support"')[1].split("</section>")[0]
    response = agent_client.post(policy_url(), {"support-reply-mode": "approval"})
    assert response.status_code == 403
    assert not AgentPolicy.objects.exists()
