from __future__ import annotations

import pytest
import time_machine

from founderops.ai.models import AgentPolicy, AgentSwitch, Approval
from founderops.core.models import AuditEvent
from founderops.support import agents, services
from founderops.support.agents import SupportDeps
from founderops.support.models import Decision, KnowledgeArticle, Message, Ticket
from tests.support.conftest import FakeClassifier, incoming

pytestmark = pytest.mark.django_db


def new_ticket(body: str = "I forgot my password, help") -> Ticket:
    return services.receive_ticket(incoming(body=body), triage=False)[0]


@time_machine.travel("2026-05-04T10:00:00Z", tick=False)
def test_it_answers_a_confident_known_request_from_the_article(
    articles: list[KnowledgeArticle], deps: SupportDeps
) -> None:
    ticket = new_ticket()
    decision = agents.handle_ticket(ticket, deps)
    ticket.refresh_from_db()
    assert decision.action == Decision.Action.AUTO_REPLY
    assert ticket.status == Ticket.Status.ANSWERED_AUTO
    reply = ticket.messages.get(author=Message.Author.AGENT).body
    assert reply.startswith("Hi Ada,\n\nClick Forgot password on the login page")
    assert reply.endswith("Fiona at Inkwell")
    assert ticket.first_response_seconds == 0


def test_it_escalates_when_not_confident(
    articles: list[KnowledgeArticle], deps: SupportDeps, classifier: FakeClassifier
) -> None:
    classifier.answerable = False
    decision = agents.handle_ticket(new_ticket(), deps)
    assert decision.action == Decision.Action.ESCALATE
    assert decision.reason.startswith("not confident enough")


def test_it_puts_a_draft_and_context_in_the_approval(
    articles: list[KnowledgeArticle], deps: SupportDeps, classifier: FakeClassifier
) -> None:
    classifier.answerable = False
    ticket = new_ticket()
    agents.handle_ticket(ticket, deps)
    approval = Approval.objects.get()
    assert approval.subject_id == str(ticket.pk)
    assert approval.payload["intent"] == "reset_password"
    assert "Forgot password" in approval.payload["draft"]
    assert {"history", "similar", "alternatives"} <= set(approval.payload)


def test_it_escalates_unknown_requests_without_a_draft(
    articles: list[KnowledgeArticle], deps: SupportDeps, classifier: FakeClassifier
) -> None:
    classifier.intent = "oos"
    decision = agents.handle_ticket(new_ticket("Can we partner on a webinar?"), deps)
    assert (decision.action, decision.draft) == (Decision.Action.ESCALATE, "")
    assert "unlike anything the knowledge base answers" in decision.reason


def test_it_escalates_urgent_requests_even_when_confident(
    articles: list[KnowledgeArticle], deps: SupportDeps
) -> None:
    ticket = new_ticket("Site is DOWN, outage since 9am, reset password does not help")
    decision = agents.handle_ticket(ticket, deps)
    ticket.refresh_from_db()
    assert ticket.priority == Ticket.Priority.URGENT
    assert decision.action == Decision.Action.ESCALATE


def test_it_escalates_everything_when_switched_off(
    articles: list[KnowledgeArticle], deps: SupportDeps
) -> None:
    AgentSwitch.objects.create(agent="support", enabled=False)
    decision = agents.handle_ticket(new_ticket(), deps)
    assert decision.reason == "the Support Agent is switched off"


def test_it_asks_first_when_the_policy_says_approval(
    articles: list[KnowledgeArticle], deps: SupportDeps
) -> None:
    AgentPolicy.objects.create(agent="support", action="reply", mode="approval")
    decision = agents.handle_ticket(new_ticket(), deps)
    assert decision.reason == "policy for replies is 'approval'"


def test_it_escalates_before_any_model_is_trained(articles: list[KnowledgeArticle]) -> None:
    decision = agents.handle_ticket(new_ticket(), SupportDeps(classifier=lambda: None))
    assert decision.reason == "no intent model is trained yet"


def test_it_decides_once_per_ticket(articles: list[KnowledgeArticle], deps: SupportDeps) -> None:
    ticket = new_ticket()
    first = agents.handle_ticket(ticket, deps)
    second = agents.handle_ticket(ticket, deps)
    assert first.pk == second.pk
    assert ticket.messages.filter(author=Message.Author.AGENT).count() == 1


def test_it_audits_the_decision_with_model_and_confidence(
    articles: list[KnowledgeArticle], deps: SupportDeps
) -> None:
    ticket = new_ticket()
    agents.handle_ticket(ticket, deps)
    event = AuditEvent.objects.get(action="support.auto_reply")
    assert (event.model_version, event.confidence) == ("fake:v1", 0.99)
    assert event.inputs["article"] == "reset-password"


def test_it_records_priority_sentiment_and_language(
    articles: list[KnowledgeArticle], deps: SupportDeps
) -> None:
    ticket = new_ticket("I was charged twice, this is unacceptable!!")
    agents.handle_ticket(ticket, deps)
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.sentiment, ticket.language) == (
        Ticket.Priority.HIGH,
        "negative",
        "en",
    )


def test_it_marks_payment_trouble_high_priority() -> None:
    assert agents.priority("my card declined again", "neutral") == Ticket.Priority.HIGH


def test_it_marks_data_loss_urgent() -> None:
    assert agents.priority("we lost all data after the update", "neutral") == (
        Ticket.Priority.URGENT
    )


def test_it_gives_urgency_as_the_reason_even_when_also_unsure(
    articles: list[KnowledgeArticle], deps: SupportDeps, classifier: FakeClassifier
) -> None:
    classifier.answerable = False
    decision = agents.handle_ticket(new_ticket("URGENT: all our sites are down"), deps)
    assert decision.reason == "urgent wording ('URGENT'): a person should look"


def test_it_hands_an_upset_customers_problem_to_a_person(
    articles: list[KnowledgeArticle], deps: SupportDeps
) -> None:
    text = "I asked for a password reset twice and the email never came, this is broken"
    decision = agents.handle_ticket(new_ticket(text), deps)
    assert decision.reason == "the customer is upset and has already tried: a person should answer"


def test_it_answers_an_upset_customer_who_has_not_tried_yet(
    articles: list[KnowledgeArticle], deps: SupportDeps
) -> None:
    decision = agents.handle_ticket(new_ticket("my password reset is broken, help"), deps)
    assert decision.action == Decision.Action.AUTO_REPLY


def test_it_counts_vanished_edits_as_urgent() -> None:
    assert agents.priority("All my edits are gone after the save", "neutral") == (
        Ticket.Priority.URGENT
    )
