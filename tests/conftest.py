"""The fixed cast and the rules every test runs under: no network, frozen time on request."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from founderops.ai import registry
from founderops.core import notify
from founderops.reports import revenue_cache
from tests.channels.smtp_server import Recorder, running

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

_real_connect = socket.socket.connect


def _local_only(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    if (
        isinstance(host, str)
        and host not in {"127.0.0.1", "localhost", "::1"}
        and not host.startswith("/")
    ):
        raise RuntimeError(f"tests may not reach the network (tried {host})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _local_only)


@pytest.fixture
def founder(db: None) -> User:
    """Fiona, the founder: the owner account."""
    return User.objects.create_superuser("fiona", "fiona@example.com", "correct horse battery")


@pytest.fixture
def founder_client(client: Any, founder: User) -> Any:
    client.force_login(founder)
    return client


@pytest.fixture(autouse=True)
def _fast_passwords_and_no_notifications(settings: Any) -> Iterator[None]:
    # Hashing the cast's passwords with PBKDF2 costs ~0.4 s a test; MD5 is fine for tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with notify.using_backend(notify.MemoryBackend()):
        yield
    # Models cached from rows a test rolled back must not serve the next test; nor revenue
    # snapshots (ids are reused after a rollback, and frozen time gives the same `synced_at`).
    registry.forget()
    revenue_cache.clear()


# Real SMTP relays on 127.0.0.1 with FOUNDEROPS_SMTP_URL pointing at them (replies, status-page
# mail, the test e-mail); each records what it was sent.


def _plain(settings: Any, recorder: Recorder) -> Iterator[Recorder]:
    with running(recorder) as port:
        settings.SMTP_URL = f"smtp+plain://127.0.0.1:{port}"
        yield recorder


@pytest.fixture
def smtp(settings: Any) -> Iterator[Recorder]:
    """A relay that accepts every mail."""
    yield from _plain(settings, Recorder())


@pytest.fixture
def smtp_busy_once(settings: Any) -> Iterator[Recorder]:
    """A relay that answers 451 (try again later) once, then 250."""
    yield from _plain(settings, Recorder(replies=["451 4.3.0 Try again later"]))


@pytest.fixture
def smtp_busy(settings: Any) -> Iterator[Recorder]:
    """A relay that answers 451 every time."""
    yield from _plain(settings, Recorder(always="451 4.3.0 Try again later"))


@pytest.fixture
def smtp_rejecting(settings: Any) -> Iterator[Recorder]:
    """A relay that refuses every mail for good (550)."""
    yield from _plain(settings, Recorder(always="550 5.1.1 <ada@example.com>: mailbox unavailable"))
