from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from founderops.ai.models import Approval
from founderops.core.errors import InvalidInput
from founderops.support import agents, services, training
from founderops.support.agents import SupportDeps
from founderops.support.models import KnowledgeArticle, Message, Ticket, TrainingExample
from tests.support.conftest import FakeClassifier, incoming

pytestmark = pytest.mark.django_db


@pytest.fixture
def escalated(
    articles: list[KnowledgeArticle], deps: SupportDeps, classifier: FakeClassifier
) -> Approval:
    classifier.answerable = False
    ticket = services.receive_ticket(incoming(), triage=False)[0]
    agents.handle_ticket(ticket, deps)
    return Approval.objects.get()


def test_it_sends_the_approved_draft(escalated: Approval, founder: User) -> None:
    services.approve_reply(escalated, founder)
    ticket = Ticket.objects.get()
    assert ticket.status == Ticket.Status.ANSWERED
    assert "Forgot password" in ticket.messages.get(author=Message.Author.FOUNDER).body


def test_it_sends_the_founders_edit(escalated: Approval, founder: User) -> None:
    services.approve_reply(escalated, founder, body="Here is a fresh link.")
    escalated.refresh_from_db()
    assert escalated.status == Approval.Status.EDITED
    assert Ticket.objects.get().messages.last().body == "Here is a fresh link."  # type: ignore[union-attr]


def test_it_learns_the_approved_intent(escalated: Approval, founder: User) -> None:
    services.approve_reply(escalated, founder)
    example = TrainingExample.objects.get()
    assert (example.intent, example.source) == ("reset_password", "approval")


def test_it_learns_a_relabelled_intent(escalated: Approval, founder: User) -> None:
    services.approve_reply(escalated, founder, intent="refund_request")
    assert TrainingExample.objects.get().intent == "refund_request"
    assert Ticket.objects.get().intent == "refund_request"


def test_it_refuses_to_decide_twice(escalated: Approval, founder: User) -> None:
    services.approve_reply(escalated, founder)
    with pytest.raises(InvalidInput, match="already decided"):
        services.approve_reply(escalated, founder)
    assert Message.objects.filter(author=Message.Author.FOUNDER).count() == 1


def test_it_learns_that_a_rejected_request_was_unknown(escalated: Approval, founder: User) -> None:
    services.reject_escalation(escalated, founder, intent="oos")
    assert TrainingExample.objects.get().intent == "oos"
    assert Ticket.objects.get().status == Ticket.Status.CLOSED


def test_it_refuses_an_intent_without_an_article(escalated: Approval, founder: User) -> None:
    with pytest.raises(InvalidInput, match="unknown intent 'teleport'"):
        services.approve_reply(escalated, founder, intent="teleport")


def test_it_trains_from_articles_and_corrections(escalated: Approval, founder: User) -> None:
    services.reject_escalation(escalated, founder, intent="oos")
    examples, unknown = training.training_set()
    assert {e.intent for e in examples} == {"reset_password", "refund_request"}
    assert unknown == ["Password\nI forgot my password, help"]
