"""Channel fixtures: real SMTP servers on 127.0.0.1 with FOUNDEROPS_SMTP_URL pointing at them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.channels import imap_server as imap_server_module
from tests.channels.imap_server import Account, ImapServer
from tests.channels.smtp_server import (
    PASSWORD,
    USERNAME,
    Recorder,
    running,
    self_signed,
    server_tls,
)


@pytest.fixture
def relay_cert(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path)


@pytest.fixture
def smtp_starttls(settings: Any, relay_cert: tuple[Path, Path]) -> Iterator[Recorder]:
    """A submission relay as in production: STARTTLS required, then AUTH LOGIN/PLAIN."""
    recorder = Recorder()
    options = {
        "tls_context": server_tls(*relay_cert),
        "require_starttls": True,
        "auth_required": True,
        "authenticator": recorder.authenticate,
    }
    with running(recorder, **options) as port:
        settings.SMTP_URL = f"smtp://{USERNAME}:{quote(PASSWORD, safe='')}@127.0.0.1:{port}"
        settings.SMTP_CA_FILE = str(relay_cert[0])
        yield recorder


# A real IMAP server (dovecot) for the inbound tests: one per session, an account per test.


@pytest.fixture(scope="session")
def imap_server() -> Iterator[ImapServer]:
    binary = imap_server_module.dovecot_binary()
    if binary is None:
        pytest.skip("dovecot is not installed: `make dovecot` (apt-get install dovecot-imapd)")
    server = imap_server_module.start(binary)
    yield server
    server.stop()


@pytest.fixture
def imap_account(imap_server: ImapServer) -> Account:
    """A fresh IMAP user with an empty INBOX on the session's dovecot."""
    return imap_server.add_account()
