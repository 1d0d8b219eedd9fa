"""The founder's decisions: approve (as drafted or edited), relabel, reject, never twice."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from founderops.ai.models import Approval
from founderops.core.models import AuditEvent
from founderops.support import services
from founderops.support.models import KnowledgeArticle, Message, Ticket, TrainingExample
from tests.web.cast import decision_post

pytestmark = pytest.mark.django_db


def url(name: str, approval: Approval) -> str:
    return reverse(name, kwargs={"pk": approval.subject_id})


def founder_replies(approval: Approval) -> list[str]:
    replies = Message.objects.filter(ticket_id=approval.subject_id, author="founder")
    return list(replies.values_list("body", flat=True))


def test_it_sends_the_draft_and_closes_the_approval(
    founder_client: Client, escalation: Approval
) -> None:
    response = founder_client.post(url("web:approve", escalation), decision_post(escalation))
    assert response.status_code == 302
    escalation.refresh_from_db()
    assert escalation.status == Approval.Status.APPROVED
    assert founder_replies(escalation) == [escalation.payload["draft"]]
    assert Ticket.objects.get(pk=escalation.subject_id).status == Ticket.Status.ANSWERED


def test_it_shows_the_sent_reply_in_the_thread(
    founder_client: Client, escalation: Approval
) -> None:
    response = founder_client.post(
        url("web:approve", escalation), decision_post(escalation), follow=True
    )
    html = response.content.decode()
    assert "Reply sent to Ada Lovelace." in html
    assert '<li class="msg msg-founder">' in html


def test_it_learns_from_an_edited_and_relabelled_reply(
    founder_client: Client, escalation: Approval, refund_article: KnowledgeArticle
) -> None:
    edited = decision_post(escalation, body="We refunded you today.", intent="refund_request")
    founder_client.post(url("web:approve", escalation), edited)
    example = TrainingExample.objects.get(ticket_id=escalation.subject_id)
    assert (example.intent, example.source) == ("refund_request", "approval")
    assert founder_replies(escalation) == ["We refunded you today."]
    assert AuditEvent.objects.filter(
        actor="user:fiona", action="support.ticket_labelled", outcome="corrected"
    ).exists()


def test_it_records_an_edit_as_approved_with_edits(
    founder_client: Client, escalation: Approval
) -> None:
    founder_client.post(url("web:approve", escalation), decision_post(escalation, body="Short."))
    escalation.refresh_from_db()
    assert escalation.status == Approval.Status.EDITED


def test_it_counts_a_draft_sent_back_with_crlf_line_breaks_as_unedited(
    founder_client: Client, escalation: Approval
) -> None:
    as_browsers_send = str(escalation.payload["draft"]).replace("\n", "\r\n")
    founder_client.post(
        url("web:approve", escalation), decision_post(escalation, body=as_browsers_send)
    )
    escalation.refresh_from_db()
    assert escalation.status == Approval.Status.APPROVED
    assert founder_replies(escalation) == [escalation.payload["draft"]]


def test_it_refuses_an_empty_reply(founder_client: Client, escalation: Approval) -> None:
    response = founder_client.post(
        url("web:approve", escalation), decision_post(escalation, body="")
    )
    assert response.status_code == 400
    assert "the reply is empty" in response.content.decode()
    escalation.refresh_from_db()
    assert escalation.status == Approval.Status.PENDING


def test_it_refuses_a_second_approval(founder_client: Client, escalation: Approval) -> None:
    founder_client.post(url("web:approve", escalation), decision_post(escalation))
    second = founder_client.post(
        url("web:approve", escalation), decision_post(escalation), follow=True
    )
    assert "This ticket was already decided, so nothing was sent twice." in second.content.decode()
    assert len(founder_replies(escalation)) == 1


def test_it_refuses_a_decision_made_elsewhere_first(
    founder_client: Client, escalation: Approval, founder: User
) -> None:
    form = decision_post(escalation)  # the page as the founder loaded it
    services.reject_escalation(escalation, founder)  # meanwhile, in another tab
    response = founder_client.post(url("web:approve", escalation), form, follow=True)
    assert "already decided" in response.content.decode()
    assert founder_replies(escalation) == []


def test_it_enforces_csrf_on_the_approve_post(founder: User, escalation: Approval) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(founder)
    response = client.post(url("web:approve", escalation), decision_post(escalation))
    assert response.status_code == 403
    escalation.refresh_from_db()
    assert escalation.status == Approval.Status.PENDING


def test_it_accepts_the_approve_post_with_the_pages_csrf_token(
    founder: User, escalation: Approval
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(founder)
    page = client.get(url("web:ticket", escalation))
    token = str(page.context["csrf_token"])
    form = decision_post(escalation, csrfmiddlewaretoken=token)
    assert client.post(url("web:approve", escalation), form).status_code == 302


def test_it_answers_a_get_on_approve_with_405(founder_client: Client, escalation: Approval) -> None:
    assert founder_client.get(url("web:approve", escalation)).status_code == 405


def test_it_closes_a_rejected_ticket_without_a_reply(
    founder_client: Client, escalation: Approval
) -> None:
    founder_client.post(url("web:reject", escalation), decision_post(escalation))
    escalation.refresh_from_db()
    assert escalation.status == Approval.Status.REJECTED
    assert Ticket.objects.get(pk=escalation.subject_id).status == Ticket.Status.CLOSED
    assert founder_replies(escalation) == []


def test_it_learns_nothing_from_a_rejection_that_kept_the_suggestion(
    founder_client: Client, escalation: Approval
) -> None:
    founder_client.post(url("web:reject", escalation), decision_post(escalation))
    assert not TrainingExample.objects.exists()


def test_it_learns_unknown_from_a_rejection_marked_oos(
    founder_client: Client, escalation: Approval
) -> None:
    founder_client.post(url("web:reject", escalation), decision_post(escalation, intent="oos"))
    example = TrainingExample.objects.get(ticket_id=escalation.subject_id)
    assert (example.intent, example.source) == ("oos", "correction")


def test_it_relabels_an_auto_answered_ticket_as_a_correction(
    founder_client: Client, ticket: Ticket, refund_article: KnowledgeArticle
) -> None:
    services.send_reply(ticket, "Here is how to reset it.", "agent")
    founder_client.post(
        reverse("web:relabel", kwargs={"pk": ticket.pk}), {"intent": "refund_request"}
    )
    example = TrainingExample.objects.get(ticket=ticket)
    assert (example.intent, example.source) == ("refund_request", "correction")
    assert AuditEvent.objects.filter(action="support.ticket_labelled").exists()


def test_it_refuses_relabelling_to_an_unknown_intent(
    founder_client: Client, ticket: Ticket
) -> None:
    response = founder_client.post(
        reverse("web:relabel", kwargs={"pk": ticket.pk}), {"intent": "made_up"}, follow=True
    )
    assert "Pick one of the known intents." in response.content.decode()
    assert not TrainingExample.objects.exists()


def test_it_answers_an_approval_with_an_unknown_intent_with_400(
    founder_client: Client, escalation: Approval
) -> None:
    form = decision_post(escalation, intent="no_such_intent")
    response = founder_client.post(url("web:approve", escalation), form)
    assert response.status_code == 400
    assert "Nothing was sent. Intent: Select a valid choice." in response.content.decode()
    assert founder_replies(escalation) == []


def test_it_answers_a_rejection_with_an_unknown_intent_with_400(
    founder_client: Client, escalation: Approval
) -> None:
    form = decision_post(escalation, intent="no_such_intent")
    response = founder_client.post(url("web:reject", escalation), form)
    assert response.status_code == 400
    escalation.refresh_from_db()
    assert escalation.status == Approval.Status.PENDING


def test_it_answers_a_reply_longer_than_the_limit_with_400(
    founder_client: Client, escalation: Approval
) -> None:
    form = decision_post(escalation, body="x" * 20_001)
    response = founder_client.post(url("web:approve", escalation), form)
    assert response.status_code == 400
    assert "at most 20000 characters" in response.content.decode()


@pytest.mark.parametrize("approval_id", [None, "", "garbage", "99999"])
def test_it_refuses_a_decision_that_does_not_name_the_pending_approval(
    founder_client: Client, escalation: Approval, approval_id: str | None
) -> None:
    form = decision_post(escalation)
    if approval_id is None:
        del form["approval"]
    else:
        form["approval"] = approval_id
    response = founder_client.post(url("web:approve", escalation), form)
    assert response.status_code == 400
    assert "the form did not name the decision waiting on this ticket" in (
        response.content.decode()
    )
    assert founder_replies(escalation) == []
    escalation.refresh_from_db()
    assert escalation.status == Approval.Status.PENDING


def test_it_refuses_a_rejection_that_does_not_name_the_pending_approval(
    founder_client: Client, escalation: Approval
) -> None:
    form = {**decision_post(escalation), "approval": "garbage"}
    assert founder_client.post(url("web:reject", escalation), form).status_code == 400
    escalation.refresh_from_db()
    assert escalation.status == Approval.Status.PENDING


def test_it_explains_a_failed_csrf_check_on_a_styled_page(
    founder: User, escalation: Approval
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(founder)
    response = client.post(url("web:approve", escalation), decision_post(escalation))
    html = response.content.decode()
    assert response.status_code == 403
    assert "This form has expired" in html
    assert "reload the page and try again" in html
    assert "DEBUG" not in html
    assert "/static/web/app.css" in html
