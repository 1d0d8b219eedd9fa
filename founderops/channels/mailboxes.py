"""Every write to a mailbox's configuration: connect, change, remove (each audited).

The app password is sealed (`core.secrets`) before it is stored and never written to the
audit trail, a log or an error message.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.db import IntegrityError, transaction

from founderops.channels import imap
from founderops.channels.mime import valid_address
from founderops.channels.models import Mailbox
from founderops.core import audit, secrets
from founderops.core.errors import Conflict, InvalidInput

DEFAULT_PORTS = {
    Mailbox.Security.IMAPS: 993,
    Mailbox.Security.STARTTLS: 143,
    Mailbox.Security.PLAIN: 143,
}


@dataclass(frozen=True)
class MailboxConfig:
    """What the founder types in to connect a mailbox (the password travels separately)."""

    name: str
    address: str
    host: str
    username: str
    port: int | None = None
    security: str = Mailbox.Security.IMAPS
    folder: str = "INBOX"
    ca_file: str = ""
    enabled: bool = True

    def cleaned(self) -> MailboxConfig:
        name, host, folder = self.name.strip(), self.host.strip(), self.folder.strip()
        address = self.address.strip().lower()
        if not name:
            raise InvalidInput("the mailbox needs a name")
        if not valid_address(address):
            raise InvalidInput(f"{self.address!r} is not an e-mail address")
        if self.security not in Mailbox.Security.values:
            options = ", ".join(Mailbox.Security.values)
            raise InvalidInput(f"unknown security {self.security!r}; use one of {options}")
        if not host:
            raise InvalidInput("the mailbox needs the IMAP server's host name")
        imap.check_host(host)
        imap.check_security(self.security, host)
        if self.ca_file.strip():
            imap.ca_context(self.ca_file.strip())
        port = self.port or DEFAULT_PORTS[Mailbox.Security(self.security)]
        if not 1 <= port <= 65535:
            raise InvalidInput(f"port {port} is not between 1 and 65535")
        return MailboxConfig(
            name=name,
            address=address,
            host=host,
            username=self.username.strip() or address,
            port=port,
            security=self.security,
            folder=folder or "INBOX",
            ca_file=self.ca_file.strip(),
            enabled=self.enabled,
        )


def connect_mailbox(
    config: MailboxConfig, password: str, actor: str, only_new: bool = True
) -> Mailbox:
    """Add a mailbox; with `only_new` its first poll skips the mail already in the folder."""
    config = config.cleaned()
    if not password:
        raise InvalidInput("the mailbox needs its (app) password")
    mailbox = Mailbox(**_fields(config), password_sealed=secrets.seal(password))
    mailbox.last_uid = imap.ONLY_NEW if only_new else 0
    _save(mailbox)
    audit.record(
        actor, "channels.mailbox_connected", ("mailbox", mailbox.pk), details=_public(config)
    )
    return mailbox


def update_mailbox(mailbox: Mailbox, config: MailboxConfig, password: str, actor: str) -> Mailbox:
    """Change a mailbox; an empty password keeps the stored one. Another server or folder
    starts the UID bookkeeping afresh (already stored mails stay once by Message-ID)."""
    config = config.cleaned()
    moved = (mailbox.host, mailbox.port, mailbox.username, mailbox.folder) != (
        config.host,
        config.port,
        config.username,
        config.folder,
    )
    for name, value in _fields(config).items():
        setattr(mailbox, name, value)
    if password:
        mailbox.password_sealed = secrets.seal(password)
    if moved:
        mailbox.uidvalidity, mailbox.last_uid = None, imap.ONLY_NEW
    mailbox.last_error = ""
    _save(mailbox)
    details = {**_public(config), "password_changed": bool(password), "moved": moved}
    audit.record(actor, "channels.mailbox_changed", ("mailbox", mailbox.pk), details=details)
    return mailbox


def remove_mailbox(mailbox: Mailbox, actor: str) -> None:
    """Forget the mailbox; the mails it delivered stay (their mailbox becomes empty)."""
    pk, name = mailbox.pk, mailbox.name
    mailbox.delete()
    audit.record(actor, "channels.mailbox_removed", ("mailbox", pk), details={"name": name})


def _fields(config: MailboxConfig) -> dict[str, object]:
    return asdict(config)


def _public(config: MailboxConfig) -> dict[str, object]:
    return {key: value for key, value in asdict(config).items() if key != "ca_file"}


def _save(mailbox: Mailbox) -> None:
    try:
        with transaction.atomic():
            mailbox.save()
    except IntegrityError:
        raise Conflict(f"a mailbox named {mailbox.name!r} already exists") from None
