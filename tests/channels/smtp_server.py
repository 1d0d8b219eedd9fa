"""Real SMTP servers on 127.0.0.1 (aiosmtpd) that keep every mail they are given.

`Recorder` answers DATA with scripted replies (e.g. one 451, then 250), records what it
accepted and what it refused, and can hold a delivery open until the test lets it go (to
show what a second worker does while the first one is mid-send).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"
USERNAME = "relay-user"
PASSWORD = "s3cret/p@ss:word"  # characters a URL must escape


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None
        assert body.get_content_subtype() == subtype
        return str(body.get_content())


class Recorder:
    """An aiosmtpd handler: answers DATA with `replies` in turn (then `always`), keeps mails."""

    def __init__(self, replies: list[str] | None = None, always: str = "250 OK") -> None:
        self.replies = list(replies or [])
        self.always = always
        self.received: list[Received] = []
        self.refused: list[Received] = []
        self.logins: list[tuple[str, str]] = []
        self.entered = threading.Event()
        self.gate: threading.Event | None = None

    def hold(self) -> threading.Event:
        """Make the next delivery wait (inside DATA) until the returned event is set."""
        self.gate = threading.Event()
        return self.gate

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.entered.set()
        if self.gate is not None:
            gate, self.gate = self.gate, None
            await asyncio.get_running_loop().run_in_executor(None, gate.wait, 30)
        mail = Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        reply = self.replies.pop(0) if self.replies else self.always
        (self.received if reply.startswith("2") else self.refused).append(mail)
        return reply

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((login, password))
        # handled=False: aiosmtpd answers a refusal with 535 itself.
        return AuthResult(success=(login, password) == (USERNAME, PASSWORD), handled=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@contextmanager
def running(handler: Recorder, **smtp_parameters: Any) -> Iterator[int]:
    """Serve `handler` on a free port of 127.0.0.1 for the duration; yields the port."""
    controller = Controller(handler, hostname=HOST, port=free_port(), **smtp_parameters)
    controller.start()
    try:
        yield int(controller.port)
    finally:
        controller.stop()


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files: (cert, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "FounderOps test relay")])
    now = dt.datetime.now(tz=dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "relay.pem", directory / "relay.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context
