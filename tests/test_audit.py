from __future__ import annotations

import json

import pytest
import time_machine

from founderops.core import audit
from founderops.core.models import AuditEvent

pytestmark = pytest.mark.django_db


@time_machine.travel("2026-03-01T09:00:00Z", tick=False)
def test_it_records_a_decision_with_its_model_and_confidence() -> None:
    event = audit.record(
        "agent:support",
        "support.auto_reply",
        ("ticket", 7),
        outcome="answered",
        decision=audit.Decision(
            model="m", model_version="3", confidence=0.97, inputs={"text": "hi"}
        ),
    )
    assert (event.actor, event.subject_id, event.confidence) == ("agent:support", "7", 0.97)
    assert event.created_at.isoformat() == "2026-03-01T09:00:00+00:00"


def test_it_chains_each_event_to_the_previous_one() -> None:
    first = audit.record("system", "a")
    second = audit.record("system", "b")
    assert second.previous_hash == first.hash
    assert audit.verify_chain() == []


def test_it_detects_an_edited_event() -> None:
    audit.record("system", "a")
    tampered = audit.record("system", "b", outcome="ok")
    AuditEvent.objects.filter(pk=tampered.pk).update(outcome="changed")
    assert audit.verify_chain() == [tampered.pk]


def test_it_exports_one_json_object_a_line() -> None:
    audit.record("system", "a")
    audit.record("system", "b")
    lines = list(audit.export_jsonl())
    assert [json.loads(line)["action"] for line in lines] == ["a", "b"]
