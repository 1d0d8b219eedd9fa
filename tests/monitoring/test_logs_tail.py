"""`logs tail`: follows a file through rotation and truncation, and remembers its offset."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from founderops.monitoring import logs
from founderops.monitoring.logsources import FileTail
from founderops.monitoring.models import LogParserState, LogTemplate


def tail(path: Path, tmp_path: Path, from_start: bool = True) -> FileTail:
    return FileTail(path, "web", tmp_path / "offsets.json", from_start, 2000)


def messages(lines: list[logs.LogLine]) -> list[str]:
    return [line.message for line in lines]


def test_it_reads_complete_lines_only(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("one\ntwo\nthr")
    follower = tail(log, tmp_path)

    first = messages(follower.poll())
    with log.open("a") as handle:
        handle.write("ee\n")

    assert (first, messages(follower.poll())) == (["one", "two"], ["three"])


def test_it_starts_at_the_end_without_from_start(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("old line\n")
    follower = tail(log, tmp_path, from_start=False)
    follower.poll()
    with log.open("a") as handle:
        handle.write("new line\n")

    assert messages(follower.poll()) == ["new line"]


def test_it_follows_a_rotated_file(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("before\n")
    follower = tail(log, tmp_path)
    follower.poll()
    with log.open("a") as handle:
        handle.write("last of old\n")
    log.rename(tmp_path / "app.log.1")
    log.write_text("first of new\n")

    assert messages(follower.poll()) == ["last of old", "first of new"]


def test_it_starts_again_after_truncation(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("a long first line before truncation\n")
    follower = tail(log, tmp_path)
    follower.poll()
    log.write_text("fresh\n")

    assert messages(follower.poll()) == ["fresh"]


def test_it_remembers_its_offset(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("one\ntwo\n")
    first = tail(log, tmp_path)
    first.poll()
    first.commit()
    first.close()
    with log.open("a") as handle:
        handle.write("three\n")

    assert messages(tail(log, tmp_path, from_start=False).poll()) == ["three"]


def test_it_reads_a_new_file_from_the_start_after_rotation_while_stopped(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("one\n")
    first = tail(log, tmp_path)
    first.poll()
    first.commit()
    first.close()
    log.rename(tmp_path / "app.log.1")
    log.write_text("new one\n")

    assert messages(tail(log, tmp_path, from_start=False).poll()) == ["new one"]


def test_it_waits_for_a_missing_file(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    follower = tail(log, tmp_path, from_start=False)

    assert follower.poll() == []
    log.write_text("hello\n")
    assert messages(follower.poll()) == ["hello"]


def test_it_reads_json_log_lines(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text('{"level": "error", "msg": "charge refused"}\n')

    line = tail(log, tmp_path).poll()[0]

    assert (line.message, line.level) == ("charge refused", "error")


@pytest.mark.django_db
def test_the_command_stores_templates_once(tmp_path: Path, settings: Any) -> None:
    settings.DATA_DIR = tmp_path
    logs.forget_ingestor()
    log = tmp_path / "app.log"
    log.write_text("User 1 logged in\nUser 2 logged in\n")
    out = StringIO()

    call_command("logs", "tail", str(log), "--service", "web", "--from-start", "--once", stdout=out)
    logs.forget_ingestor()
    call_command("logs", "tail", str(log), "--service", "web", "--once", stdout=out)

    assert LogTemplate.objects.get(service="web").count == 2
    assert LogParserState.objects.get(service="web").lines_seen == 2
    assert "web: 2 lines seen, 2 parsed, 0 dropped" in out.getvalue()


@pytest.mark.django_db
def test_the_templates_command_lists_counts(tmp_path: Path, settings: Any) -> None:
    settings.DATA_DIR = tmp_path
    logs.forget_ingestor()
    log = tmp_path / "app.log"
    log.write_text("ERROR db timeout after 3s\nERROR db timeout after 4s\n")
    call_command(
        "logs", "tail", str(log), "--service", "web", "--from-start", "--once", stdout=StringIO()
    )
    out = StringIO()

    call_command("logs", "templates", "--service", "web", stdout=out)

    assert "ERROR db timeout after <DURATION>" in out.getvalue()
    assert "        2  ERROR" in out.getvalue()
