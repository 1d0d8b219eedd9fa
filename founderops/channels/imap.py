"""Polling a mailbox over IMAP: every new mail stored once, then queued for processing.

Bookkeeping follows RFC 3501's rule: a UID names one message for as long as the folder's
UIDVALIDITY stays the same. Each poll fetches the UIDs above `last_uid`, oldest first, and
moves `last_uid` forward in the same transaction that stores the mail, so a crash mid-poll
neither skips a mail nor fetches a stored one again. When UIDVALIDITY changes (the folder was
rebuilt or moved), the whole folder is read again; Message-ID idempotency keeps each mail
once. A mailbox added with "only new mail" (`last_uid` = -1, no UIDVALIDITY yet) starts
after the newest message on its first poll, so an old inbox is not answered wholesale.

The folder is opened read-only (EXAMINE) and bodies are fetched with BODY.PEEK, so polling
changes nothing on the server. Errors are recorded on the mailbox (`last_error`, scrubbed of
the password) and never escape to the worker.
"""

from __future__ import annotations

import hashlib
import imaplib
import ipaddress
import re
import socket
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from founderops.channels import inbound
from founderops.channels.models import InboundEmail, Mailbox
from founderops.core import clock, secrets
from founderops.core.errors import InvalidInput

TIMEOUT_SECONDS = 30
# A poll stops after this many mails so one job stays well inside the job timeout; the
# next poll carries on where it stopped.
MAX_PER_POLL = 200
ONLY_NEW = -1
ERROR_CHARS = 1000
_FETCH_ITEM = re.compile(rb"UID (\d+)")
_SIZE_ITEM = re.compile(rb"RFC822\.SIZE (\d+)")


class MailboxError(InvalidInput):
    """The mailbox cannot be used as configured; the message is safe to show."""


# What a failed connection may raise: the server's NO/BAD, sockets, TLS, a lost secret.
MAIL_ERRORS: tuple[type[Exception], ...] = (imaplib.IMAP4.error, OSError, InvalidInput)


@dataclass(frozen=True)
class PollResult:
    mailbox: str
    fetched: int = 0
    stored: int = 0
    error: str = ""

    def __str__(self) -> str:
        if self.error:
            return f"{self.mailbox}: error: {self.error}"
        return f"{self.mailbox}: {self.fetched} fetched, {self.stored} new"


# Connecting.


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def check_security(security: str, host: str) -> None:
    """A password is never sent unencrypted to another machine."""
    if security == Mailbox.Security.PLAIN and not is_loopback(host):
        raise MailboxError(
            f"refusing an unencrypted connection to {host}: the password would cross the "
            "network in clear text. Use IMAPS or STARTTLS (no TLS is only for this machine)."
        )


def tls_context(mailbox: Mailbox) -> ssl.SSLContext:
    """Certificates and host names are always verified; a private CA may be given."""
    return ca_context(mailbox.ca_file)


def ca_context(ca_file: str) -> ssl.SSLContext:
    """The TLS context trusting `ca_file` too; a file that is missing, unreadable or holds
    no certificate is named as such (not as a TLS failure of the server)."""
    try:
        return ssl.create_default_context(cafile=ca_file or None)
    except ssl.SSLError:
        raise MailboxError(f"the CA file {ca_file!r} holds no certificate (PEM)") from None
    except OSError as error:
        reason = (error.strerror or str(error)).lower()
        raise MailboxError(f"the CA file {ca_file!r} cannot be read: {reason}") from None


def check_host(host: str) -> None:
    """A host name or address only: a URL pasted into the field would never resolve."""
    if "://" in host or any(c in host for c in "/@") or any(c.isspace() for c in host):
        raise MailboxError(
            f"{host[:100]!r} is not a host name: give the server's name only, "
            "e.g. imap.gmail.com (no imaps://, user or path)"
        )


def open_connection(mailbox: Mailbox) -> imaplib.IMAP4:
    check_security(mailbox.security, mailbox.host)
    if mailbox.security == Mailbox.Security.IMAPS:
        return imaplib.IMAP4_SSL(
            mailbox.host, mailbox.port, ssl_context=tls_context(mailbox), timeout=TIMEOUT_SECONDS
        )
    connection = imaplib.IMAP4(mailbox.host, mailbox.port, timeout=TIMEOUT_SECONDS)
    if mailbox.security == Mailbox.Security.STARTTLS:
        if "STARTTLS" not in connection.capabilities:
            connection.shutdown()
            raise MailboxError(f"{mailbox.host} does not offer STARTTLS; use IMAPS instead")
        connection.starttls(ssl_context=tls_context(mailbox))
    return connection


def log_in(connection: imaplib.IMAP4, username: str, password: str) -> None:
    if password.isascii() and username.isascii():
        connection.login(username, password)
        return
    # LOGIN's arguments must be ASCII; AUTHENTICATE PLAIN carries UTF-8 (RFC 4616).
    secret = f"\0{username}\0{password}".encode()
    connection.authenticate("PLAIN", lambda _challenge: secret)


@contextmanager
def session(mailbox: Mailbox) -> Iterator[imaplib.IMAP4]:
    password = secrets.reveal(mailbox.password_sealed)
    connection = open_connection(mailbox)
    try:
        log_in(connection, mailbox.username, password)
        yield connection
    finally:
        _close(connection)


def _close(connection: imaplib.IMAP4) -> None:
    try:
        connection.logout()
    except MAIL_ERRORS:
        # The connection was already broken: there is nothing left to say to the server.
        with suppress(OSError):
            connection.shutdown()


def quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def select_folder(connection: imaplib.IMAP4, folder: str) -> tuple[int, int]:
    """Open the folder read-only: its UIDVALIDITY and number of messages."""
    status, data = connection.select(quoted(folder), readonly=True)
    if status != "OK":
        raise MailboxError(f"the folder {folder!r} cannot be opened: {_said(data)}")
    _, values = connection.response("UIDVALIDITY")
    if not values or values[0] is None:
        raise MailboxError(f"the server gave no UIDVALIDITY for {folder!r}")
    count = data[0] if data and isinstance(data[0], bytes) else b"0"
    return int(values[0]), int(count or b"0")


def _said(data: Sequence[object]) -> str:
    return " ".join(_text(item) for item in data)[:200]


def _text(item: object) -> str:
    return item.decode(errors="replace") if isinstance(item, bytes) else str(item)


# Testing and polling.


def check_connection(mailbox: Mailbox) -> str:
    """Log in and open the folder; what the founder sees, or MailboxError saying why not."""
    try:
        with session(mailbox) as connection:
            _, count = select_folder(connection, mailbox.folder)
    except MAIL_ERRORS as error:
        raise MailboxError(describe(error, mailbox)) from None
    return f"Connected to {mailbox.host}: {mailbox.folder} holds {count} message(s)."


def poll_mailboxes() -> list[PollResult]:
    mailboxes = Mailbox.objects.filter(enabled=True).exclude(host="").order_by("id")
    return [poll_mailbox(mailbox) for mailbox in mailboxes]


def poll_mailbox(mailbox: Mailbox) -> PollResult:
    """Fetch and store what is new; errors end up on the mailbox, never raised."""
    try:
        with session(mailbox) as connection:
            fetched, stored = _poll(connection, mailbox)
    except MAIL_ERRORS as error:
        message = describe(error, mailbox)
        _record(mailbox, message)
        return PollResult(mailbox.name, error=message)
    _record(mailbox, "")
    return PollResult(mailbox.name, fetched, stored)


def _poll(connection: imaplib.IMAP4, mailbox: Mailbox) -> tuple[int, int]:
    uidvalidity, _ = select_folder(connection, mailbox.folder)
    if mailbox.uidvalidity is None and mailbox.last_uid == ONLY_NEW:
        _start_after_newest(connection, mailbox, uidvalidity)
        return 0, 0
    if mailbox.uidvalidity != uidvalidity:
        # A new UIDVALIDITY makes every stored UID meaningless: read the folder again.
        Mailbox.objects.filter(pk=mailbox.pk).update(uidvalidity=uidvalidity, last_uid=0)
        mailbox.uidvalidity, mailbox.last_uid = uidvalidity, 0
    fetched = stored = 0
    for uid, size in new_messages(connection, mailbox.last_uid)[:MAX_PER_POLL]:
        raw = fetch(connection, uid, headers_only=size > settings.MAIL_MAX_BYTES)
        with transaction.atomic():
            if raw is not None:
                fetched += 1
                stored += int(_store(mailbox, raw, size))
            _advance(mailbox, uidvalidity, uid)
    return fetched, stored


def _start_after_newest(connection: imaplib.IMAP4, mailbox: Mailbox, uidvalidity: int) -> None:
    newest = max((uid for uid, _ in new_messages(connection, 0)), default=0)
    Mailbox.objects.filter(pk=mailbox.pk).update(uidvalidity=uidvalidity, last_uid=newest)
    mailbox.uidvalidity, mailbox.last_uid = uidvalidity, newest


def new_messages(connection: imaplib.IMAP4, after: int) -> list[tuple[int, int]]:
    """(UID, size) of each message above `after`, oldest first."""
    status, data = connection.uid("FETCH", f"{after + 1}:*", "(RFC822.SIZE)")
    if status != "OK":
        raise MailboxError(f"listing new messages failed: {_said(data)}")
    found: dict[int, int] = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if not isinstance(line, bytes):
            continue
        uid, size = _FETCH_ITEM.search(line), _SIZE_ITEM.search(line)
        # "n:*" always names the newest message, even when its UID is below n.
        if uid and size and int(uid[1]) > after:
            found[int(uid[1])] = int(size[1])
    return sorted(found.items())


def fetch(connection: imaplib.IMAP4, uid: int, headers_only: bool) -> bytes | None:
    """The raw mail (or only its headers); None when it was expunged meanwhile."""
    item = "(BODY.PEEK[HEADER])" if headers_only else "(BODY.PEEK[])"
    status, data = connection.uid("FETCH", str(uid), item)
    if status != "OK":
        raise MailboxError(f"fetching message {uid} failed: {_said(data)}")
    for part in data:
        if isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], bytes):
            return part[1]
    return None


def _store(mailbox: Mailbox, raw: bytes, size: int) -> bool:
    if size > settings.MAIL_MAX_BYTES:
        # Only the headers were fetched; the same headers and size always give the same id.
        digest = "sha256:" + hashlib.sha256(raw + str(size).encode()).hexdigest()
        source = InboundEmail.Source.IMAP
        return inbound.store_oversized(raw, size, source, mailbox, digest)[1]
    return inbound.store_inbound(raw, InboundEmail.Source.IMAP, mailbox)[1]


def _advance(mailbox: Mailbox, uidvalidity: int, uid: int) -> None:
    # Conditional, so that two overlapping polls can only move the mark forward.
    Mailbox.objects.filter(pk=mailbox.pk, uidvalidity=uidvalidity, last_uid__lt=uid).update(
        last_uid=uid
    )
    mailbox.last_uid = max(mailbox.last_uid, uid)


def _record(mailbox: Mailbox, error: str) -> None:
    now = clock.now()
    Mailbox.objects.filter(pk=mailbox.pk).update(last_polled_at=now, last_error=error)
    mailbox.last_polled_at, mailbox.last_error = now, error


# Errors, as the founder reads them.


def describe(error: Exception, mailbox: Mailbox) -> str:
    """A readable reason, never holding the password."""
    where = f"{mailbox.host}:{mailbox.port}"
    if isinstance(error, ssl.SSLCertVerificationError):
        text = (
            f"the certificate of {where} is not trusted ({error.verify_message}); "
            "for a server with a private CA, give its CA file"
        )
    elif isinstance(error, ssl.SSLError):
        text = f"TLS with {where} failed ({error.reason or error}); check the port and security"
    elif isinstance(error, ConnectionRefusedError):
        text = f"{where} refused the connection; check the host and port"
    elif isinstance(error, socket.gaierror):
        text = f"the host {mailbox.host!r} cannot be found"
    elif isinstance(error, TimeoutError):
        text = f"{where} did not answer within {TIMEOUT_SECONDS} s"
    elif isinstance(error, imaplib.IMAP4.error):
        text = f"the server said: {_said(error.args)}"
    elif isinstance(error, InvalidInput):
        text = str(error)
    else:
        text = f"{type(error).__name__}: {error}"
    return scrub(text, mailbox)[:ERROR_CHARS]


def scrub(text: str, mailbox: Mailbox) -> str:
    try:
        password = secrets.reveal(mailbox.password_sealed)
    except InvalidInput:
        return text
    return text.replace(password, "••••") if password else text
