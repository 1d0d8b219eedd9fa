"""Audit events in words (core.audit_words): what the founder reads instead of action ids."""

from __future__ import annotations

import pytest
import time_machine

from founderops.core import audit, audit_words
from founderops.core.models import AuditEvent


def event(action: str, outcome: str = "", subject: tuple[str, str] = ("", "")) -> AuditEvent:
    return AuditEvent(
        action=action, outcome=outcome, subject_type=subject[0], subject_id=subject[1]
    )


def test_it_says_a_reminder_was_sent_for_an_incident() -> None:
    words = audit_words.describe(event("incidents.reminded", subject=("incident", "4")))
    assert str(words) == "Reminder sent for incident #4"


def test_it_names_a_ticket_with_on() -> None:
    words = audit_words.describe(event("support.escalate", "escalated", ("ticket", "12")))
    assert (words.what, words.about) == ("Escalated to you", "on ticket #12")


def test_it_puts_the_outcome_in_the_words_where_they_have_a_place_for_it() -> None:
    words = audit_words.describe(event("incidents.state_changed", "monitoring"))
    assert (words.what, words.note) == ("State changed to monitoring", "")


def test_it_keeps_an_outcome_the_words_do_not_say_as_a_note() -> None:
    words = audit_words.describe(event("support.auto_reply", "answered", ("ticket", "3")))
    assert (words.what, words.note) == ("Answered automatically", "answered")


def test_it_says_which_policy_changed_to_which_mode_with_its_limits() -> None:
    limits = {"max_amount": 5000, "currency": "USD", "max_age_days": 1}
    details = {"action": "refund", "limits": limits}
    words = audit_words.what("policy.changed", "auto", details)
    assert words == "Refund policy changed to auto (up to 50.00 USD, within 1 day)"


def test_it_says_policy_changed_to_its_mode_without_details() -> None:
    assert audit_words.what("policy.changed", "auto") == "Policy changed to auto"


def test_it_gives_the_target_precision_in_percent() -> None:
    assert (
        audit_words.what("agent.target_precision_changed", "0.975")
        == "Target precision changed to 97.5%"
    )


def test_it_reads_an_approval_of_any_agent() -> None:
    assert audit_words.what("billing.approval_decided", "approved") == "Approval approved"


def test_it_turns_an_action_without_words_into_words() -> None:
    assert audit_words.what("billing.invoice_voided") == "Invoice voided"


def test_it_leaves_out_an_outcome_placeholder_when_there_is_no_outcome() -> None:
    assert audit_words.what("incidents.priority_set") == "Priority set"


def test_it_names_agents_by_their_label_and_people_by_their_name() -> None:
    assert (audit_words.actor("agent:support"), audit_words.actor("user:fiona")) == (
        "Support Agent",
        "fiona",
    )


@pytest.mark.django_db
@time_machine.travel("2026-03-01T09:00:00Z", tick=False)
def test_it_describes_a_stored_event() -> None:
    stored = audit.record("agent:monitoring", "incidents.reminded", ("incident", 4))
    assert str(audit_words.describe(stored)) == "Reminder sent for incident #4"
