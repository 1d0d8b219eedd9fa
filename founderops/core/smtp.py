"""The one way mail leaves: FOUNDEROPS_SMTP_URL parsed, a verified TLS connection, one send.

Replies to customers (channels.outbound) and status-page notices (incidents.subscribers)
both go through `transmit`, so TLS, login and timeouts behave the same for every mail.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from django.conf import settings

from founderops.core.errors import InvalidInput

DEFAULT_PORTS = {"smtp": 587, "smtps": 465, "smtp+plain": 25}


@dataclass(frozen=True)
class SmtpServer:
    scheme: str
    host: str
    port: int
    username: str = ""
    password: str = field(default="", repr=False)


def smtp_server(url: str) -> SmtpServer:
    parts = urlsplit(url)
    try:
        port = parts.port or DEFAULT_PORTS.get(parts.scheme, 0)
    except ValueError:
        raise InvalidInput("FOUNDEROPS_SMTP_URL has a port that is not a number") from None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise InvalidInput("FOUNDEROPS_SMTP_URL must be smtp://, smtps:// or smtp+plain://")
    return SmtpServer(
        parts.scheme,
        parts.hostname,
        port,
        unquote(parts.username or ""),
        unquote(parts.password or ""),
    )


def tls_context() -> ssl.SSLContext:
    """Certificates and host names are always verified; a private CA may be added."""
    return ssl.create_default_context(cafile=settings.SMTP_CA_FILE or None)


def transmit(server: SmtpServer, mail: EmailMessage, sender: str, recipient: str) -> None:
    timeout = settings.SMTP_TIMEOUT_SECONDS
    client = (
        smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=tls_context())
        if server.scheme == "smtps"
        else smtplib.SMTP(server.host, server.port, timeout=timeout)
    )
    with client:
        if server.scheme == "smtp":
            client.starttls(context=tls_context())
        if server.username:
            client.login(server.username, server.password)
        client.send_message(mail, from_addr=sender, to_addrs=[recipient])


@dataclass(frozen=True)
class Failure:
    reason: str
    permanent: bool = False
    code: int | None = None
    # False when the server could not be reached at all: the retry job stops its round.
    reached: bool = True


def classify(error: OSError) -> Failure:
    """What a failed send means: 5xx about the message is final, the rest is retried."""
    if isinstance(error, smtplib.SMTPAuthenticationError):
        # A 535 says the credentials are wrong, not the message: retry once they are fixed.
        reason = f"the SMTP server refused the login ({error.smtp_code}); check FOUNDEROPS_SMTP_URL"
        return Failure(reason, code=error.smtp_code)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(error.recipients.values()))
        return by_code(code, text)
    if isinstance(error, smtplib.SMTPResponseException):
        return by_code(error.smtp_code, error.smtp_error)
    if isinstance(error, ssl.SSLCertVerificationError):
        reason = f"the SMTP server's certificate is not trusted ({error.verify_message})"
        return Failure(reason + "; set FOUNDEROPS_SMTP_CA_FILE for a private CA", reached=False)
    if isinstance(error, smtplib.SMTPException):
        return Failure(f"{type(error).__name__}: {error}")
    return Failure(f"{type(error).__name__}: {error}", reached=False)


def by_code(code: int, text: bytes | str) -> Failure:
    said = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return Failure(f"{code} {' '.join(said.split())}", permanent=500 <= code < 600, code=code)
