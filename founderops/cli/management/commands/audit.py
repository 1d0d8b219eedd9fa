"""`founderops audit verify` and `founderops audit export`: check and take out the trail."""

from __future__ import annotations

from argparse import ArgumentTypeError
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from founderops.core import audit, clock
from founderops.core.models import AuditEvent

SHOWN_BROKEN = 10


class Command(BaseCommand):
    help = (
        "Check or export the tamper-evident audit trail. `audit verify` recomputes every "
        "event's SHA-256 link and exits 1 naming the first broken events; `audit export` "
        "writes the trail as JSON Lines, oldest first."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        actions.add_parser(
            "verify", help="check that no event was edited, deleted or inserted since recorded"
        )
        export = actions.add_parser("export", help="write the trail as JSON Lines, oldest first")
        export.add_argument(
            "--since",
            type=_since,
            help="only events from this day on (YYYY-MM-DD, today or yesterday, from midnight "
            "in FOUNDEROPS_TIME_ZONE) or from this instant (ISO 8601)",
        )
        export.add_argument(
            "--output", type=Path, help="write to this file instead of standard output"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "verify":
            self._verify()
        else:
            self._export(options["since"], options["output"])

    def _verify(self) -> None:
        check = audit.check_chain()
        if check.intact:
            self.stdout.write(f"audit trail intact: {check.checked} events")
            return
        first = ", ".join(str(pk) for pk in check.broken[:SHOWN_BROKEN])
        hidden = len(check.broken) - SHOWN_BROKEN
        more = f" and {hidden} more" if hidden > 0 else ""
        raise CommandError(
            f"audit trail broken: {len(check.broken)} of {check.checked} events do not match "
            f"their hash or the one before; first broken ids: {first}{more}",
            returncode=1,
        )

    def _export(self, since: datetime | None, output: Path | None) -> None:
        events = AuditEvent.objects.order_by("id")
        if since is not None:
            events = events.filter(created_at__gte=since)
        if output is None:
            count = _write(events, lambda line: self.stdout.write(line, ending=""))
            self.stderr.write(f"exported {count} events")
            return
        try:
            with output.open("w", encoding="utf-8", newline="\n") as file:
                count = _write(events, file.write)
        except OSError as error:
            raise CommandError(f"cannot write {output}: {error.strerror}") from None
        self.stderr.write(f"exported {count} events to {output}")


def _write(events: Any, write: Callable[[str], object]) -> int:
    count = 0
    for line in audit.export_jsonl(events):
        write(line)
        count += 1
    return count


RELATIVE_DAYS = {"today": 0, "yesterday": 1}


def _since(raw: str) -> datetime:
    # An argparse type error: the command line shows usage and one line, no traceback.
    zone = clock.zone(settings.TIME_ZONE)
    text = raw.strip()
    if text.lower() in RELATIVE_DAYS:
        today = clock.now().astimezone(zone).date()
        return _midnight(today - timedelta(days=RELATIVE_DAYS[text.lower()]), zone)
    try:
        if len(text) == len("2026-01-31"):
            return _midnight(date.fromisoformat(text), zone)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ArgumentTypeError(
            f"{raw!r} is not a date like 2026-01-31 (or today, yesterday)"
            " or an instant like 2026-01-31T09:00:00+01:00"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)
