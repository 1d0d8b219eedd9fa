"""Mails as customers' clients (and robots) send them, for the inbound tests."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage

ADA = "Ada Lovelace <ada@example.com>"
SUPPORT = "help@inkwell.example"
FIRST_ID = "<a1b2c3@mail.example.com>"


def mail(
    body: str | None = "Hi, I forgot my password. Where do I reset it?",
    subject: str = "Can't log in",
    sender: str = ADA,
    msgid: str | None = FIRST_ID,
    html: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: tuple[tuple[str, str, bytes], ...] = (),
) -> bytes:
    """A mail from Ada to support; `body=None` with `html` makes an HTML-only mail."""
    message = EmailMessage(policy=policy.default)
    message["From"] = sender
    message["To"] = SUPPORT
    message["Subject"] = subject
    message["Date"] = "Mon, 05 Jan 2026 10:00:00 +0000"
    if msgid:
        message["Message-ID"] = msgid
    for name, value in (headers or {}).items():
        message[name] = value
    if body is not None:
        message.set_content(body)
        if html is not None:
            message.add_alternative(html, subtype="html")
    elif html is not None:
        message.set_content(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes(policy=policy.SMTP)


def reply(
    body: str,
    in_reply_to: str,
    msgid: str = "<r1@mail.example.com>",
    sender: str = ADA,
    subject: str = "Re: Can't log in",
) -> bytes:
    headers = {"In-Reply-To": in_reply_to, "References": in_reply_to}
    return mail(body, subject=subject, sender=sender, msgid=msgid, headers=headers)


def bounce(original: bytes) -> bytes:
    """A delivery status notification as a mail server sends it (multipart/report)."""
    message = EmailMessage(policy=policy.default)
    message["From"] = "Mail Delivery System <MAILER-DAEMON@mx.example.com>"
    message["To"] = SUPPORT
    message["Subject"] = "Undelivered Mail Returned to Sender"
    message["Message-ID"] = "<bounce-1@mx.example.com>"
    message.set_content("This is the mail system. Your message could not be delivered.")
    message.add_attachment(original, maintype="message", subtype="rfc822")
    message.replace_header(
        "Content-Type", 'multipart/report; report-type=delivery-status; boundary="dsn"'
    )
    return message.as_bytes(policy=policy.SMTP)


def large_mail(megabytes: int, msgid: str = "<big@mail.example.com>") -> bytes:
    """A mail of about `megabytes` MB (a scanned PDF, say), counting base64's growth: a
    third, plus a line break every 76 characters."""
    blob = b"%PDF-1.4 " + b"x" * (megabytes * 1024 * 1024 * 3 // 4 * 76 // 78)
    return mail(
        "Here is the scan.",
        subject="Scan attached",
        msgid=msgid,
        attachments=(("scan.pdf", "application/pdf", blob),),
    )
