"""`founderops brief morning`: print the morning briefing, and send it with --send."""

from __future__ import annotations

import re
from argparse import ArgumentTypeError
from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from founderops.core import clock, notifications
from founderops.reports import briefing


class Command(BaseCommand):
    help = (
        "Print the morning briefing as Markdown: the last 24 hours, or one whole day in "
        "FOUNDEROPS_BRIEFING_TIME_ZONE with --date (YYYY-MM-DD, today or yesterday). "
        "--send also delivers it to the notification routes that take the briefing and to "
        "FOUNDEROPS_NOTIFY_URLS."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=["morning"], help="which briefing")
        parser.add_argument("--date", type=_day, help="a whole day: YYYY-MM-DD, today or yesterday")
        parser.add_argument("--send", action="store_true", help="deliver it as well")

    def handle(self, *args: Any, **options: Any) -> None:
        zone = briefing.configured_zone()
        day: date | None = options["date"]
        today = clock.now().astimezone(zone).date()
        if day is not None and day > today:
            raise CommandError(
                f"--date {day} is in the future (today is {today} in {zone.key}): "
                "there is nothing to report yet"
            )
        window = (
            briefing.Window.whole_day(day, zone)
            if day
            else briefing.Window.last_24_hours(clock.now(), zone)
        )
        page = briefing.morning(window)
        self.stdout.write(page.markdown, ending="")
        if options["send"]:
            self._send(page)

    def _send(self, page: briefing.Briefing) -> None:
        if not notifications.routes_for(notifications.BRIEFING):
            raise CommandError(
                "FOUNDEROPS_NOTIFY_URLS is empty and no notification route takes the briefing: "
                "there is nowhere to send it"
            )
        sending = briefing.send(page)
        for delivery in sending.deliveries:
            state = "sent" if delivery.ok else f"FAILED: {delivery.error}"
            self.stderr.write(f"{delivery.target}: {state}")
        # "queued": held for a route's quiet hours or digest window; it is sent later.
        if sending.outcome not in {"delivered", "queued"}:
            raise CommandError(f"the briefing was not delivered everywhere ({sending.outcome})")


RELATIVE_DAYS = {"today": 0, "yesterday": 1}
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
EARLIEST = date(2000, 1, 1)


def _day(raw: str) -> date:
    # An argparse type error: the command line shows usage and one line, no traceback.
    if raw.strip().lower() in RELATIVE_DAYS:
        today = clock.now().astimezone(briefing.configured_zone()).date()
        return today - timedelta(days=RELATIVE_DAYS[raw.strip().lower()])
    try:
        # fromisoformat alone also takes 20261231 and week dates (2026-W49-1).
        day = date.fromisoformat(raw) if DAY.fullmatch(raw) else None
    except ValueError:
        day = None
    if day is None:
        raise ArgumentTypeError(f"{raw!r} is not a date like 2026-01-31, today or yesterday")
    if day < EARLIEST:
        raise ArgumentTypeError(f"{raw!r} is before {EARLIEST}: nothing was recorded then")
    return day
