"""The channels customers write through: mailboxes, every e-mail in and out, attachments.

Each inbound e-mail is stored (raw) before it is processed and keyed by its Message-ID, so a
mail fetched twice, or delivered by IMAP and a webhook both, becomes one ticket message.
Each outbound e-mail gets its Message-ID before it is sent, so a retry after a crash sends
the same message (receivers thread and de-duplicate on it).
"""

from __future__ import annotations

from django.db import models

from founderops.core import personal_data
from founderops.support.models import Message, Ticket


class Mailbox(models.Model):
    """One support address, polled over IMAP (or fed by an inbound-mail webhook)."""

    class Security(models.TextChoices):
        IMAPS = "imaps", "IMAPS (TLS from the start, port 993)"
        STARTTLS = "starttls", "STARTTLS (port 143, upgraded to TLS)"
        PLAIN = "plain", "No TLS (only for a server on this machine)"

    name = models.CharField(max_length=100, unique=True)
    address = models.EmailField(help_text="The address customers write to; replies come from it")
    host = models.CharField(max_length=255, blank=True)
    port = models.PositiveIntegerField(default=993)
    security = models.CharField(max_length=20, choices=Security.choices, default=Security.IMAPS)
    username = models.CharField(max_length=255, blank=True)
    password_sealed = models.TextField(blank=True, help_text="App password, encrypted at rest")
    folder = models.CharField(max_length=255, default="INBOX")
    ca_file = models.CharField(
        max_length=500, blank=True, help_text="CA bundle for a server with a private certificate"
    )
    enabled = models.BooleanField(default=True)
    uidvalidity = models.BigIntegerField(null=True, blank=True)
    last_uid = models.BigIntegerField(default=0)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} <{self.address}>"


class InboundEmail(models.Model):
    """One received e-mail, stored before processing; the status says what became of it."""

    class Source(models.TextChoices):
        IMAP = "imap", "IMAP"
        POSTMARK = "postmark", "Postmark webhook"
        MAILGUN = "mailgun", "Mailgun webhook"
        SENDGRID = "sendgrid", "SendGrid webhook"
        UPLOAD = "upload", "Uploaded .eml"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be processed"
        PROCESSED = "processed", "Became a ticket message"
        IGNORED = "ignored", "Not answered (auto-reply, bounce, loop, rate limit)"
        REJECTED = "rejected", "Refused (malformed or too large)"

    source = models.CharField(max_length=20, choices=Source.choices)
    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.SET_NULL)
    # The sender's Message-ID, or "sha256:<digest of the raw mail>" when it has none.
    msgid = models.CharField(max_length=500, unique=True, help_text="The Message-ID header")
    received_at = models.DateTimeField(db_index=True)
    raw = models.BinaryField(help_text="The mail as received (headers only when too large)")
    size = models.PositiveIntegerField(default=0)
    sender = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    reason = models.TextField(blank=True, help_text="Why it was ignored or refused")
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL)
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.sender}: {self.subject} ({self.status})"


class Attachment(models.Model):
    """A file that came with a customer's e-mail, stored under DATA_DIR/attachments."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=255)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    path = models.CharField(max_length=500, help_text="Relative to DATA_DIR/attachments")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.filename


class OutboundEmail(models.Model):
    """A reply on its way out by SMTP, threaded into the customer's conversation."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (will retry)"
        GAVE_UP = "gave_up", "Failed for good"

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="email")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="emails")
    msgid = models.CharField(max_length=500, unique=True, help_text="The Message-ID header")
    in_reply_to = models.CharField(max_length=500, blank=True)
    references = models.TextField(blank=True)
    from_address = models.CharField(max_length=320)
    to_address = models.CharField(max_length=320)
    subject = models.CharField(max_length=300)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    # When a worker may next try: the retry backoff, and while one sends, its lease (a
    # worker that died mid-send leaves a lease that expires, and the retry job takes over).
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.to_address}: {self.subject} ({self.status})"


personal_data.not_personal(
    Mailbox,
    (
        "name",
        "address",
        "host",
        "security",
        "username",
        "password_sealed",
        "folder",
        "ca_file",
        "last_error",
    ),
)
personal_data.personal(
    InboundEmail, ("msgid", "raw", "sender", "subject"), customer_path="ticket__customer"
)
personal_data.not_personal(InboundEmail, ("source", "status", "reason"))
personal_data.personal(Attachment, ("filename", "path"), customer_path="message__ticket__customer")
personal_data.not_personal(Attachment, ("content_type", "sha256"))
personal_data.personal(
    OutboundEmail,
    ("msgid", "in_reply_to", "references", "to_address", "subject"),
    customer_path="ticket__customer",
)
personal_data.not_personal(OutboundEmail, ("from_address", "status", "last_error"))
