"""`founderops audit verify` and `founderops audit export`."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import CommandError, call_command

from founderops.core import audit
from founderops.core.models import AuditEvent

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("audit", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def three_events() -> list[AuditEvent]:
    return [audit.record("system", action) for action in ("a", "b", "c")]


def test_it_reports_an_intact_trail_with_its_size() -> None:
    three_events()
    assert run("verify")[0] == "audit trail intact: 3 events\n"


def test_it_fails_naming_the_first_edited_event() -> None:
    _, edited, _ = three_events()
    AuditEvent.objects.filter(pk=edited.pk).update(outcome="changed afterwards")
    with pytest.raises(CommandError, match=rf"1 of 3 events .* first broken ids: {edited.pk}$"):
        run("verify")


def test_it_exits_1_for_a_broken_trail() -> None:
    first, _, _ = three_events()
    AuditEvent.objects.filter(pk=first.pk).delete()
    with pytest.raises(CommandError, match="audit trail broken") as error:
        run("verify")
    assert error.value.returncode == 1


def test_it_exports_the_trail_as_json_lines_to_standard_output() -> None:
    three_events()
    out, _ = run("export")
    assert [json.loads(line)["action"] for line in out.splitlines()] == ["a", "b", "c"]


def test_it_exports_to_a_file_with_output(tmp_path: Path) -> None:
    three_events()
    target = tmp_path / "trail.jsonl"
    run("export", "--output", str(target))
    assert target.read_text() == "".join(audit.export_jsonl())


def test_it_exports_from_midnight_in_the_founders_zone_with_since(settings: Any) -> None:
    settings.TIME_ZONE = "Europe/Paris"
    # 22:30 and 23:30 UTC on 1 March: the second is already 2 March in Paris.
    for moment, action in (("2026-03-01T22:30:00Z", "before"), ("2026-03-01T23:30:00Z", "after")):
        with time_machine.travel(moment, tick=False):
            audit.record("system", action)
    out, _ = run("export", "--since", "2026-03-02")
    assert [json.loads(line)["action"] for line in out.splitlines()] == ["after"]


@time_machine.travel("2026-03-02T12:00:00Z", tick=False)
def test_it_takes_yesterday_as_since() -> None:
    for moment, action in (("2026-02-28T23:00:00Z", "older"), ("2026-03-01T00:00:00Z", "newer")):
        with time_machine.travel(moment, tick=False):
            audit.record("system", action)
    out, _ = run("export", "--since", "yesterday")
    assert [json.loads(line)["action"] for line in out.splitlines()] == ["newer"]


def test_it_refuses_a_malformed_since() -> None:
    with pytest.raises(CommandError, match="'last week' is not a date"):
        run("export", "--since", "last week")
