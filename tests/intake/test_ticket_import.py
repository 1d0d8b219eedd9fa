"""`founderops tickets import`: every bad row reported by line and skipped, good rows kept."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django_q.models import OrmQ

from founderops.support import importers
from founderops.support.models import Ticket
from founderops.support.services import Incoming, receive_ticket

pytestmark = pytest.mark.django_db

HEADER = "email,body,subject,external_id,created_at\n"


def run(tmp_path: Path, content: str | bytes, name: str = "tickets.csv") -> importers.TicketImport:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return importers.import_ticket_file(path, triage=False)


def run_jsonl(tmp_path: Path, content: str) -> importers.TicketImport:
    return run(tmp_path, content, "tickets.jsonl")


def reasons(report: importers.TicketImport) -> list[str]:
    return [str(problem) for problem in report.rejected]


def jsonl(*rows: object) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def test_it_keeps_the_good_rows_around_a_bad_one(tmp_path: Path) -> None:
    report = run(
        tmp_path,
        HEADER + "ada@example.com,first,,,\nnot-an-email,lost,,,\nbob@example.com,third,,,\n",
    )
    assert (report.summary(), reasons(report)) == (
        "imported 2, duplicates 0, rejected 1",
        ["line 3: not an email address: 'not-an-email'"],
    )


def test_it_stores_each_good_row_as_a_ticket_from_the_import_channel(tmp_path: Path) -> None:
    run(tmp_path, HEADER + "ada@example.com,My invoice is wrong,Invoice,,\n")
    ticket = Ticket.objects.get()
    assert (ticket.subject, ticket.channel, ticket.messages.get().body) == (
        "Invoice",
        Ticket.Channel.IMPORT,
        "My invoice is wrong",
    )


def test_it_rejects_a_row_without_its_email(tmp_path: Path) -> None:
    report = run_jsonl(tmp_path, jsonl({"body": "hello"}))
    assert reasons(report) == ["line 1: missing field 'email'"]


def test_it_rejects_an_empty_body(tmp_path: Path) -> None:
    report = run(tmp_path, HEADER + "ada@example.com,   ,,,\n")
    assert reasons(report) == ["line 2: body is empty"]


def test_it_rejects_a_body_of_html_without_text(tmp_path: Path) -> None:
    report = run_jsonl(tmp_path, jsonl({"email": "ada@example.com", "body": "<p> </p><br>"}))
    assert reasons(report) == ["line 1: the message body is empty"]


def test_it_rejects_a_huge_body(tmp_path: Path) -> None:
    report = run_jsonl(tmp_path, jsonl({"email": "ada@example.com", "body": "a" * 20_001}))
    assert "the limit is 20,000" in reasons(report)[0]


def test_it_rejects_a_csv_field_over_the_csv_limit_and_reads_on(tmp_path: Path) -> None:
    huge = '"' + "a" * 200_000 + '"'
    report = run(tmp_path, HEADER + f"ada@example.com,{huge},,,\nbob@example.com,fine,,,\n")
    assert (len(report.imported), reasons(report)) == (
        1,
        ["line 2: malformed CSV: field larger than field limit (131072)"],
    )


def test_it_turns_an_html_body_into_text(tmp_path: Path) -> None:
    run_jsonl(
        tmp_path, jsonl({"email": "ada@example.com", "body": "<div>Refund&nbsp;please</div>"})
    )
    assert Ticket.objects.get().messages.get().body == "Refund please"


def test_it_rejects_a_date_without_time_zone(tmp_path: Path) -> None:
    report = run(tmp_path, HEADER + "ada@example.com,hi,,,2026-01-31T09:00:00\n")
    assert reasons(report) == [
        "line 2: created_at '2026-01-31T09:00:00' has no time zone "
        "(add Z or an offset such as +02:00)"
    ]


def test_it_rejects_a_date_that_is_not_iso_8601(tmp_path: Path) -> None:
    report = run(tmp_path, HEADER + "ada@example.com,hi,,,31/01/2026\n")
    assert reasons(report)[0].startswith("line 2: created_at is not an ISO 8601 date-time")


def test_it_keeps_the_date_the_source_gives(tmp_path: Path) -> None:
    run(tmp_path, HEADER + "ada@example.com,hi,,,2026-01-31T09:00:00+02:00\n")
    assert Ticket.objects.get().created_at.isoformat() == "2026-01-31T07:00:00+00:00"


def test_it_rejects_a_json_row_with_an_unknown_field(tmp_path: Path) -> None:
    report = run_jsonl(tmp_path, jsonl({"email": "ada@example.com", "body": "hi", "prio": "high"}))
    assert reasons(report)[0].startswith("line 1: unknown field 'prio' (known: email, body")


def test_it_rejects_a_csv_row_with_a_value_in_an_unknown_column(tmp_path: Path) -> None:
    report = run(tmp_path, "email,body,prio\nada@example.com,hi,\nbob@example.com,hi,high\n")
    assert (len(report.imported), [r.line for r in report.rejected]) == (1, [3])


def test_it_rejects_a_malformed_json_line_and_keeps_the_next(tmp_path: Path) -> None:
    text = '{"email": "ada@example.com", "body": "hi"\n' + jsonl(
        {"email": "bob@example.com", "body": "fine"}
    )
    report = run(tmp_path, text, "tickets.jsonl")
    assert (len(report.imported), reasons(report)) == (
        1,
        ["line 1: malformed JSON: Expecting ',' delimiter at column 42"],
    )


def test_it_rejects_a_json_line_that_is_not_an_object(tmp_path: Path) -> None:
    report = run(tmp_path, '["ada@example.com", "hi"]\n', "tickets.jsonl")
    assert reasons(report) == ["line 1: expected a JSON object, got an array"]


def test_it_rejects_a_field_that_is_not_text(tmp_path: Path) -> None:
    report = run_jsonl(tmp_path, jsonl({"email": "ada@example.com", "body": ["hi"]}))
    assert reasons(report) == ["line 1: body must be text, not an array"]


def test_it_refuses_a_csv_without_a_required_column(tmp_path: Path) -> None:
    with pytest.raises(importers.UnreadableFile, match="the header has no body column"):
        run(tmp_path, "email,subject\nada@example.com,hi\n")


def test_it_rejects_a_csv_row_with_too_many_values(tmp_path: Path) -> None:
    report = run(tmp_path, "email,body\nada@example.com,hi,there\n")
    assert reasons(report) == ["line 2: 3 values, but the header has 2 columns"]


def test_it_rejects_a_csv_row_with_a_stray_quote(tmp_path: Path) -> None:
    report = run(tmp_path, 'email,body\nada@example.com,"hi"there\nbob@example.com,fine\n')
    assert (len(report.imported), [r.line for r in report.rejected]) == (1, [2])


def test_it_counts_lines_across_a_quoted_multiline_body(tmp_path: Path) -> None:
    text = 'email,body\nada@example.com,"line one\nline two"\nnope,hi\n'
    report = run(tmp_path, text)
    assert [r.line for r in report.rejected] == [4]
    assert Ticket.objects.get().messages.get().body == "line one\nline two"


def test_it_reads_a_semicolon_separated_csv(tmp_path: Path) -> None:
    report = run(tmp_path, "email;body\nada@example.com;hi, there\n")
    assert Ticket.objects.get().messages.get().body == "hi, there"
    assert report.summary() == "imported 1, duplicates 0, rejected 0"


def test_it_reads_a_windows_1252_file(tmp_path: Path) -> None:
    run(tmp_path, (HEADER + "ada@example.com,Café “déjà vu” \u2013 merci,,,\n").encode("cp1252"))
    assert Ticket.objects.get().messages.get().body == "Café “déjà vu” \u2013 merci"


def test_it_reads_a_utf16_file_with_byte_order_mark(tmp_path: Path) -> None:
    run(tmp_path, (HEADER + "ada@example.com,Grüße aus Köln,,,\r\n").encode("utf-16"))
    assert Ticket.objects.get().messages.get().body == "Grüße aus Köln"


def test_it_reads_a_utf8_file_with_byte_order_mark(tmp_path: Path) -> None:
    run(tmp_path, (HEADER + "ada@example.com,naïve,,,\n").encode("utf-8-sig"))
    assert Ticket.objects.get().messages.get().body == "naïve"


def test_it_rejects_only_the_lines_with_invalid_utf8(tmp_path: Path) -> None:
    raw = (HEADER + "ada@example.com,Grüße,,,\n").encode() + b"bob@example.com,bad \xff,,,\n"
    report = run(tmp_path, raw)
    assert (len(report.imported), reasons(report)) == (
        1,
        [
            "line 3: wrong encoding: byte 0xff at column 21 is not valid UTF-8 "
            "(the rest of the file is UTF-8)"
        ],
    )


def test_it_refuses_utf16_without_byte_order_mark(tmp_path: Path) -> None:
    with pytest.raises(importers.UnreadableFile, match="UTF-16 without a byte-order mark"):
        run(tmp_path, (HEADER + "ada@example.com,hi,,,\n").encode("utf-16-le"))


def test_it_stores_one_ticket_per_external_id_and_reports_the_duplicate(tmp_path: Path) -> None:
    row = "ada@example.com,hi,,zd-7,\n"
    report = run(tmp_path, HEADER + row + row)
    assert (report.summary(), Ticket.objects.count()) == (
        "imported 1, duplicates 1, rejected 0",
        1,
    )


def test_it_does_not_create_again_on_a_second_import(tmp_path: Path) -> None:
    run(tmp_path, HEADER + "ada@example.com,hi,,zd-7,\n")
    again = run(tmp_path, HEADER + "ada@example.com,hi,,zd-7,\n")
    assert [d.line for d in again.duplicates] == [2]


def test_it_takes_a_numeric_json_external_id(tmp_path: Path) -> None:
    run_jsonl(tmp_path, jsonl({"email": "ada@example.com", "body": "hi", "external_id": 1234}))
    assert Ticket.objects.get().external_id == "1234"


def test_it_refuses_a_file_it_cannot_tell_the_format_of(tmp_path: Path) -> None:
    with pytest.raises(importers.UnreadableFile, match="pass --format"):
        run(tmp_path, HEADER, "tickets.txt")


def test_it_refuses_an_empty_csv(tmp_path: Path) -> None:
    with pytest.raises(importers.UnreadableFile, match="the file is empty"):
        run(tmp_path, "\n\n")


def test_the_command_prints_each_skipped_row_and_a_summary(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(jsonl({"email": "ada@example.com", "body": "hi", "external_id": "1"}) * 2)
    out = io.StringIO()
    call_command("tickets", "import", str(path), "--no-triage", stdout=out)
    assert out.getvalue().splitlines() == [
        f"{path}:line 2: duplicate of ticket #{Ticket.objects.get().pk}, not stored again",
        "imported 1, duplicates 1, rejected 0",
    ]


def test_the_command_fails_when_the_file_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read"):
        call_command("tickets", "import", str(tmp_path / "missing.csv"))


def test_the_command_reads_the_format_it_is_told(tmp_path: Path) -> None:
    path = tmp_path / "export.txt"
    path.write_text(jsonl({"email": "ada@example.com", "body": "hi"}))
    call_command(
        "tickets", "import", str(path), "--format", "jsonl", "--no-triage", stdout=io.StringIO()
    )
    assert Ticket.objects.count() == 1


def test_the_command_queues_the_agent_on_each_imported_ticket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: object
) -> None:
    queued: list[tuple[str, tuple[object, ...]]] = []
    monkeypatch.setattr("founderops.core.jobs.enqueue", lambda f, *a, **_: queued.append((f, a)))
    path = tmp_path / "t.jsonl"
    path.write_text(jsonl({"email": "ada@example.com", "body": "hi"}))
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        call_command("tickets", "import", str(path), stdout=io.StringIO())
    assert queued == [("founderops.support.tasks.triage_ticket", (Ticket.objects.get().pk,))]


def test_the_command_queues_nothing_with_no_triage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: object
) -> None:
    queued: list[str] = []
    monkeypatch.setattr("founderops.core.jobs.enqueue", lambda f, *a, **_: queued.append(f))
    path = tmp_path / "t.jsonl"
    path.write_text(jsonl({"email": "ada@example.com", "body": "hi"}))
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        call_command("tickets", "import", str(path), "--no-triage", stdout=io.StringIO())
    assert queued == []


def test_the_command_names_line_1_when_the_header_is_malformed_csv(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('"email"x,body\nada@example.com,hi\n')
    with pytest.raises(CommandError, match=r"t\.csv: line 1: the header is malformed CSV"):
        call_command("tickets", "import", str(path), "--format", "csv", stdout=io.StringIO())


def test_it_calls_a_binary_file_binary(tmp_path: Path) -> None:
    with pytest.raises(importers.UnreadableFile, match="it looks like a binary file"):
        run(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" * 20)


def test_it_calls_a_utf8_file_with_a_nul_byte_binary_naming_its_line(tmp_path: Path) -> None:
    with pytest.raises(importers.UnreadableFile, match="the first on line 2"):
        run(tmp_path, (HEADER + "ada@example.com,h\x00i,,,\n").encode())


def test_the_command_says_a_directory_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="is a directory, not a file"):
        call_command("tickets", "import", str(tmp_path), stdout=io.StringIO())


@pytest.mark.django_db(transaction=True)  # jobs are queued on commit, inside the command
def test_the_command_keeps_the_job_queues_info_lines_out_of_its_report(tmp_path: Path) -> None:
    class Records(logging.Handler):
        def __init__(self) -> None:
            super().__init__(logging.DEBUG)
            self.seen: list[str] = []

        def emit(self, record: logging.LogRecord) -> None:
            self.seen.append(record.getMessage())

    records = Records()
    logger = logging.getLogger("django-q")  # at the level settings give every CLI command
    logger.addHandler(records)
    path = tmp_path / "t.jsonl"
    path.write_text(jsonl({"email": "ada@example.com", "body": "hi"}))
    try:
        call_command("tickets", "import", str(path), stdout=io.StringIO())
    finally:
        logger.removeHandler(records)
    assert OrmQ.objects.count() == 1  # the triage job was queued
    assert not [line for line in records.seen if "Enqueued" in line]


def test_it_stores_a_row_whose_external_id_an_api_ticket_uses(tmp_path: Path) -> None:
    api = Incoming(email="ada@example.com", body="From the API", external_id="EXT-1")
    receive_ticket(api, triage=False)
    report = run(tmp_path, HEADER + "bob@example.com,From the import,,EXT-1,\n")
    assert (report.summary(), Ticket.objects.count()) == ("imported 1, duplicates 0, rejected 0", 2)


def test_it_rejects_a_row_reusing_an_external_id_for_a_different_request(tmp_path: Path) -> None:
    run(tmp_path, HEADER + "ada@example.com,hi,,zd-7,\n")
    again = run(tmp_path, HEADER + "ada@example.com,something else,,zd-7,\n")
    first = Ticket.objects.get().pk
    assert reasons(again) == [
        f"line 2: external_id 'zd-7' was already used for a different request (ticket #{first})"
    ]


def test_the_command_exits_one_when_a_row_is_rejected_and_keeps_the_others(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tickets.jsonl"
    good = json.dumps({"external_id": "t1", "email": "ada@example.com", "body": "Hi"})
    path.write_text(good + "\n{not json\n")
    out = io.StringIO()
    with pytest.raises(SystemExit) as stopped:
        call_command("tickets", "import", str(path), "--no-triage", stdout=out)
    assert (stopped.value.code, Ticket.objects.count()) == (1, 1)
    assert out.getvalue().splitlines()[-1] == "imported 1, duplicates 0, rejected 1"
