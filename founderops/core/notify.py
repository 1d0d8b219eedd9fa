"""The notifier seam: one call sends a message to every configured apprise URL.

Notification URLs carry secrets (bot tokens, webhook keys, SMTP passwords), so nothing here
logs, returns or stores a URL: a delivery names its target by scheme and a short fingerprint,
and error texts are scrubbed of every piece of the URL. Tests replace the backend with
`MemoryBackend` (or their own) through `using_backend`; the apprise backend is the only code
that talks to the outside world.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol, TypeVar
from urllib.parse import unquote

from django.conf import settings

logger = logging.getLogger(__name__)

MAX_ERROR_CHARS = 300
_WORDS = re.compile(r"[^A-Za-z0-9_\-]+")


class DeliveryFailed(Exception):
    """A backend could not deliver one notification; the message says why (no secrets)."""


@dataclass(frozen=True)
class Delivery:
    """The outcome for one URL. `target` is safe to show and store; the URL is not."""

    target: str
    ok: bool
    error: str = ""

    def as_record(self) -> dict[str, object]:
        return {"target": self.target, "ok": self.ok, "error": self.error}


class Backend(Protocol):
    def send(self, url: str, title: str, body: str) -> None:
        """Deliver or raise DeliveryFailed."""


class AppriseBackend:
    """Delivers through apprise: Slack, email, Telegram, ntfy, … from one URL each."""

    def send(self, url: str, title: str, body: str) -> None:
        import apprise

        sender = apprise.Apprise()
        if not sender.add(url):
            raise DeliveryFailed("not a notification URL apprise understands")
        with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]
            delivered = sender.notify(
                body=body, title=title, body_format=apprise.NotifyFormat.MARKDOWN
            )
            warnings = captured.getvalue()
        if not delivered:
            raise DeliveryFailed(_last_line(warnings) or "the service refused the notification")


@dataclass(frozen=True)
class Sent:
    url: str
    title: str
    body: str


@dataclass
class MemoryBackend:
    """Keeps what it was asked to send; fails for the URLs in `failing`. For tests."""

    failing: set[str] = field(default_factory=set)
    sent: list[Sent] = field(default_factory=list)

    def send(self, url: str, title: str, body: str) -> None:
        if url in self.failing:
            raise DeliveryFailed(f"{url} is configured to fail")
        self.sent.append(Sent(url, title, body))


AnyBackend = TypeVar("AnyBackend", bound=Backend)

_backend: Backend = AppriseBackend()


def notify(title: str, body: str, urls: Sequence[str] | None = None) -> list[Delivery]:
    """Send to each URL (default: FOUNDEROPS_NOTIFY_URLS); never raises for a failed one."""
    targets = list(settings.NOTIFY_URLS if urls is None else urls)
    return [_deliver(url, title, body) for url in targets]


def _deliver(url: str, title: str, body: str) -> Delivery:
    target = redact(url)
    try:
        _backend.send(url, title, body)
    except DeliveryFailed as failure:
        error = scrub(str(failure), url)
        logger.warning("notification to %s failed: %s", target, error)
        return Delivery(target, ok=False, error=error)
    logger.info("notification sent to %s", target)
    return Delivery(target, ok=True)


def redact(url: str) -> str:
    """`slack #1a2b3c4d`: the scheme and a fingerprint tell URLs apart without showing one."""
    scheme = url.split("://", 1)[0] if "://" in url else "url"
    fingerprint = hashlib.sha256(url.encode()).hexdigest()[:8]
    return f"{scheme} #{fingerprint}"


def scrub(text: str, url: str) -> str:
    """Remove every part of `url` longer than a few characters from `text`."""
    pieces = set(_WORDS.split(url)) | set(_WORDS.split(unquote(url)))
    for piece in sorted((p for p in pieces if len(p) >= 6), key=len, reverse=True):
        text = text.replace(piece, "…")
    return text[:MAX_ERROR_CHARS]


def _last_line(text: str) -> str:
    lines = [line.split(" - ", 2)[-1] for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def set_backend(backend: Backend) -> Backend:
    """Replace the backend; returns the previous one."""
    global _backend
    previous, _backend = _backend, backend
    return previous


@contextmanager
def using_backend(backend: AnyBackend) -> Iterator[AnyBackend]:
    """Use `backend` inside the block (tests: `with using_backend(MemoryBackend()) as b`)."""
    previous = set_backend(backend)
    try:
        yield backend
    finally:
        set_backend(previous)
