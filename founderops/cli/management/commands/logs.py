"""`founderops logs tail|syslog|templates`: application logs in, and what they became."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Sum

from founderops.monitoring import logs
from founderops.monitoring.logsources import FileTail, SyslogListener
from founderops.monitoring.models import LogParserState, LogTemplate

# How often a running source writes what it parsed (templates, counts, alerts, its offset).
FLUSH_EVERY_SECONDS = 1.0
IDLE_SLEEP_SECONDS = 0.25


class Command(BaseCommand):
    help = "Follow a log file or listen for syslog; list the log templates learned."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        tail = actions.add_parser("tail", help="follow a file like tail -F")
        tail.add_argument("file", type=Path)
        tail.add_argument("--service", required=True, help="the service these lines are from")
        tail.add_argument("--from-start", action="store_true", help="read the file from line 1")
        tail.add_argument("--once", action="store_true", help="read what is there, then stop")
        syslog = actions.add_parser("syslog", help="an RFC 5424/3164 syslog listener on UDP")
        syslog.add_argument("--host", default="127.0.0.1")
        syslog.add_argument("--port", type=int, default=5514)
        templates = actions.add_parser("templates", help="list the templates with their counts")
        templates.add_argument("--service", help="only this service")
        templates.add_argument("--errors", action="store_true", help="only error templates")
        templates.add_argument("--limit", type=int, default=50)

    def handle(self, *args: Any, **options: Any) -> None:
        action: Callable[[dict[str, Any]], None] = {
            "tail": self.do_tail,
            "syslog": self.do_syslog,
            "templates": self.do_templates,
        }[options["action"]]
        action(options)

    def do_tail(self, options: dict[str, Any]) -> None:
        path: Path = options["file"]
        service = options["service"].strip()
        if not service or len(service) > logs.MAX_SERVICE_CHARS:
            raise CommandError(f"--service must be 1 to {logs.MAX_SERVICE_CHARS} characters")
        if path.is_dir():
            raise CommandError(f"{path} is a directory, not a log file")
        offsets = Path(settings.DATA_DIR) / "log-tail-offsets.json"
        tail = FileTail(path, service, offsets, options["from_start"], settings.LOG_LINE_MAX_CHARS)
        if not path.exists():
            self.stdout.write(f"{path} does not exist yet: waiting for it.")
        ingestor = logs.ingestor()
        try:
            if options["once"]:
                ingestor.ingest(tail.poll())
            else:
                self.stdout.write(f"Following {path} as service {service!r} (Ctrl-C stops).")
                _loop(ingestor, tail.poll, tail.commit)
        except KeyboardInterrupt:
            pass
        finally:
            ingestor.flush(force=True)
            tail.commit()
            tail.close()
        self._summary(service)

    def do_syslog(self, options: dict[str, Any]) -> None:
        listener = SyslogListener(options["host"], options["port"], settings.LOG_LINE_MAX_CHARS)
        try:
            host, port = listener.start()
        except OSError as error:
            where = f"{options['host']}:{options['port']}"
            raise CommandError(f"cannot listen on {where}: {error}") from None
        self.stdout.write(f"Listening for syslog on udp://{host}:{port} (Ctrl-C stops).")
        ingestor = logs.ingestor()
        try:
            _loop(ingestor, listener.take, lambda: None)
        except KeyboardInterrupt:
            pass
        finally:
            listener.stop()
            ingestor.flush(force=True)
        self.stdout.write(
            f"Stopped. Not syslog: {listener.rejected:,} datagrams; "
            f"dropped while the queue was full: {listener.overflow:,}."
        )

    def do_templates(self, options: dict[str, Any]) -> None:
        rows = LogTemplate.objects.order_by("service", "-count")
        if options["service"]:
            rows = rows.filter(service=options["service"])
        if options["errors"]:
            rows = rows.filter(is_error=True)
        total = rows.count()
        if not total:
            self.stdout.write(
                "No log templates yet: send lines with `logs tail`, `logs syslog` "
                "or POST /api/logs."
            )
            return
        for row in rows[: max(options["limit"], 1)]:
            flag = "ERROR" if row.is_error else "     "
            self.stdout.write(
                f"{row.service}  #{row.cluster_id:<5} {row.count:>9,}  {flag}  "
                f"last {row.last_seen_at:%Y-%m-%d %H:%M}  {row.template}"
            )
        if total > options["limit"]:
            self.stdout.write(f"… {total - options['limit']:,} more (--limit).")
        for state in LogParserState.objects.order_by("service"):
            if options["service"] and state.service != options["service"]:
                continue
            self.stdout.write(_sampling(state))

    def _summary(self, service: str) -> None:
        state = LogParserState.objects.filter(service=service).first()
        if state is not None:
            self.stdout.write(_sampling(state))


def _loop(
    ingestor: logs.Ingestor, source: Callable[[], list[logs.LogLine]], commit: Callable[[], None]
) -> None:
    """Read, ingest, and every FLUSH_EVERY_SECONDS write; forever (until Ctrl-C)."""
    flushed = time.monotonic()
    while True:
        lines = source()
        if lines:
            ingestor.ingest(lines)
        if time.monotonic() - flushed >= FLUSH_EVERY_SECONDS:
            # Also with no lines: a quiet minute is what clears an error spike.
            ingestor.flush()
            commit()
            flushed = time.monotonic()
        if not lines:
            time.sleep(IDLE_SLEEP_SECONDS)


def _sampling(state: LogParserState) -> str:
    parsed = state.lines_seen - state.lines_dropped
    templates = LogTemplate.objects.filter(service=state.service).aggregate(n=Sum("count"))["n"]
    return (
        f"{state.service}: {state.lines_seen:,} lines seen, {parsed:,} parsed, "
        f"{state.lines_dropped:,} dropped by flood control "
        f"({templates or 0:,} counted in templates)"
    )
