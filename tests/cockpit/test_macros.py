"""Saved replies: list, create, edit, delete, and inserted into a draft (a use counted)."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from founderops.ai.models import Approval
from founderops.core.models import AuditEvent
from founderops.support import services
from founderops.support.models import SavedReply, Ticket

pytestmark = pytest.mark.django_db

BODY = "Hi {name},\n\nYour invoice is attached. Keep {this} as it is."


@pytest.fixture
def macro(founder: User) -> SavedReply:
    return services.save_macro("Invoice copy", BODY, "invoice_copy", founder)


def use(client: Client, ticket_id: str | int, macro_id: object, **headers: str) -> object:
    url = reverse("web:macro_use", kwargs={"pk": ticket_id})
    return client.post(url, {"macro": str(macro_id)}, headers=headers)


def test_it_lists_saved_replies_with_their_uses(founder_client: Client, macro: SavedReply) -> None:
    html = founder_client.get(reverse("web:macros")).content.decode()
    assert "Invoice copy" in html
    assert "used 0 times" in html


def test_it_creates_a_saved_reply(founder_client: Client, reset_article: object) -> None:
    data = {"title": "Reset", "body": "Hi {name}\r\nuse the link", "intent": "reset_password"}
    assert founder_client.post(reverse("web:macro_new"), data)["Location"] == reverse("web:macros")
    saved = SavedReply.objects.get()
    assert (saved.title, saved.body, saved.intent) == (
        "Reset",
        "Hi {name}\nuse the link",
        "reset_password",
    )
    assert AuditEvent.objects.filter(action="support.macro_saved").exists()


def test_it_edits_a_saved_reply(founder_client: Client, macro: SavedReply) -> None:
    url = reverse("web:macro_edit", kwargs={"pk": macro.pk})
    assert b"Invoice copy" in founder_client.get(url).content
    founder_client.post(url, {"title": "Invoice (PDF)", "body": "Attached.", "intent": ""})
    macro.refresh_from_db()
    assert (macro.title, macro.body, macro.intent) == ("Invoice (PDF)", "Attached.", "")


def test_it_refuses_a_title_already_taken(founder_client: Client, macro: SavedReply) -> None:
    response = founder_client.post(
        reverse("web:macro_new"), {"title": "Invoice copy", "body": "Other", "intent": ""}
    )
    assert response.status_code == 400
    assert "already called" in response.content.decode()
    assert SavedReply.objects.count() == 1


def test_it_refuses_an_empty_text(founder_client: Client) -> None:
    response = founder_client.post(reverse("web:macro_new"), {"title": "Empty", "body": "  "})
    assert response.status_code == 400
    assert not SavedReply.objects.exists()


def test_it_deletes_a_saved_reply(founder_client: Client, macro: SavedReply) -> None:
    founder_client.post(reverse("web:macro_delete", kwargs={"pk": macro.pk}))
    assert not SavedReply.objects.exists()
    assert AuditEvent.objects.get(action="support.macro_deleted").outcome == "Invoice copy"


def test_it_offers_the_picker_on_a_ticket_waiting_for_a_reply(
    founder_client: Client, escalation: Approval, macro: SavedReply
) -> None:
    html = founder_client.get(reverse("web:ticket", kwargs={"pk": escalation.subject_id})).content
    assert b'id="macro-picker"' in html
    assert f'<option value="{macro.pk}">Invoice copy</option>'.encode() in html


def test_it_suggests_the_replies_for_the_tickets_intent_first(
    founder_client: Client, escalation: Approval, founder: User
) -> None:
    services.save_macro("Another", "Text", "", founder)
    services.save_macro("Zebra reset", "Text", "reset_password", founder)
    Ticket.objects.filter(pk=escalation.subject_id).update(intent="reset_password")
    html = founder_client.get(reverse("web:ticket", kwargs={"pk": escalation.subject_id})).content
    assert html.index(b"Zebra reset (suggested)") < html.index(b"Another")


def test_it_offers_no_picker_on_a_ticket_already_answered(
    founder_client: Client, ticket: Ticket, macro: SavedReply
) -> None:
    html = founder_client.get(reverse("web:ticket", kwargs={"pk": ticket.pk})).content
    assert b'id="macro-picker"' not in html


def test_it_fills_in_the_first_name_and_counts_a_use(
    founder_client: Client, escalation: Approval, macro: SavedReply
) -> None:
    response = use(founder_client, escalation.subject_id, macro.pk, accept="application/json")
    data = json.loads(response.content)  # type: ignore[attr-defined]
    assert data["body"] == "Hi Ada,\n\nYour invoice is attached. Keep {this} as it is."
    macro.refresh_from_db()
    assert macro.uses == 1
    event = AuditEvent.objects.get(action="support.macro_used")
    assert (event.subject_type, event.subject_id) == ("ticket", escalation.subject_id)


def test_it_greets_a_customer_without_a_name(
    founder_client: Client, escalation: Approval, macro: SavedReply
) -> None:
    ticket = Ticket.objects.get(pk=escalation.subject_id)
    ticket.customer.name = ""
    ticket.customer.save()
    response = use(founder_client, ticket.pk, macro.pk, accept="application/json")
    assert json.loads(response.content)["body"].startswith("Hi there,")  # type: ignore[attr-defined]


def test_it_fills_the_draft_without_javascript(
    founder_client: Client, escalation: Approval, macro: SavedReply
) -> None:
    response = use(founder_client, escalation.subject_id, macro.pk)
    location = response["Location"]  # type: ignore[index]
    assert location.endswith(f"?macro={macro.pk}#decide-title")
    html = founder_client.get(location.split("#")[0]).content.decode()
    assert "Hi Ada,\n\nYour invoice is attached. Keep {this} as it is.</textarea>" in html
    macro.refresh_from_db()
    assert macro.uses == 1  # the page that shows the draft counts nothing


def test_it_refuses_an_unknown_saved_reply(founder_client: Client, escalation: Approval) -> None:
    response = use(founder_client, escalation.subject_id, 999, accept="application/json")
    assert response.status_code == 400  # type: ignore[attr-defined]


def test_it_sends_the_saved_reply_as_an_edited_draft(
    founder_client: Client, escalation: Approval, macro: SavedReply
) -> None:
    text = services.fill_macro(macro.body, "Ada Lovelace")
    data = {"approval": str(escalation.pk), "body": text, "intent": ""}
    founder_client.post(reverse("web:approve", kwargs={"pk": escalation.subject_id}), data)
    escalation.refresh_from_db()
    assert escalation.status == Approval.Status.EDITED


def test_it_lets_a_viewer_read_but_not_change_or_use(
    viewer_client: Client, escalation: Approval, macro: SavedReply
) -> None:
    html = viewer_client.get(reverse("web:macros")).content.decode()
    assert "Invoice copy" in html
    assert 'id="new-macro"' not in html
    assert (
        viewer_client.post(reverse("web:macro_delete", kwargs={"pk": macro.pk})).status_code == 403
    )
    assert use(viewer_client, escalation.subject_id, macro.pk).status_code == 403  # type: ignore[attr-defined]
    macro.refresh_from_db()
    assert macro.uses == 0
