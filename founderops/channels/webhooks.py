"""Inbound-mail webhooks of Postmark, Mailgun and SendGrid: proof of origin, then raw MIME.

Each provider proves a request its own way: Mailgun signs `timestamp + token` with HMAC-SHA256
(refused when more than five minutes off, or when a token comes twice: a replay); Postmark
and SendGrid Inbound Parse post to a URL with HTTP basic auth (the configured `user:password`),
and SendGrid may also sign with ECDSA. Every comparison of a secret is constant-time.

Whatever a provider sends is turned into the raw RFC 5322 mail (as it came when the provider
offers it, else rebuilt from its fields) and stored like any other mail, so IMAP and webhooks
share one path. A rebuilt mail gets deterministic MIME boundaries: the same payload posted
twice is byte-for-byte the same mail, and without a Message-ID it still de-duplicates.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser, HeaderParser
from typing import Any
from urllib.parse import parse_qsl

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import IntegrityError, transaction

from founderops.channels.mime import PARSE_ERRORS
from founderops.core import ratelimit
from founderops.core.errors import FounderOpsError
from founderops.core.models import RateCounter

MAX_SKEW_SECONDS = 5 * 60
SENDGRID_SIGNATURE = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP = "X-Twilio-Email-Event-Webhook-Timestamp"
# Headers that describe the body we rebuild, not the provider's copy of it.
_BODY_HEADERS = {"content-type", "content-transfer-encoding", "mime-version", "content-disposition"}
_GENERATE = policy.default.clone(linesep="\r\n")


class WebhookError(FounderOpsError):
    """A request refused; `status` is its HTTP status, `code` a stable word for machines."""

    status = 400
    code = "malformed"


class NotConfigured(WebhookError):
    status = 404
    code = "not_configured"


class Unauthenticated(WebhookError):
    status = 401
    code = "unauthenticated"


class Forged(WebhookError):
    status = 403
    code = "forged"


class Malformed(WebhookError):
    status = 400
    code = "malformed"


class TooLarge(WebhookError):
    status = 413
    code = "too_large"


class Misconfigured(WebhookError):
    """A setting is wrong: a 5xx, so the provider retries once the founder has fixed it."""

    status = 500
    code = "misconfigured"


# Proof of origin.


def check_basic_auth(authorization: str, secret: str) -> None:
    """HTTP basic auth must carry exactly the configured `user:password`."""
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise Unauthenticated("this endpoint needs HTTP basic auth (user:password in the URL)")
    try:
        given = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise Forged("the basic-auth credentials are not valid base64") from None
    if not hmac.compare_digest(given, secret.encode()):
        raise Forged("the basic-auth user or password is wrong")


def check_mailgun(timestamp: str, token: str, signature: str, key: str, now: datetime) -> int:
    """Mailgun's HMAC-SHA256 of timestamp + token, checked in constant time; fresh only."""
    if not (timestamp and token and signature):
        raise Forged("the request carries no Mailgun signature (timestamp, token, signature)")
    expected = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise Forged("the Mailgun signature does not match (check FOUNDEROPS_MAILGUN_SIGNING_KEY)")
    return fresh(timestamp, now)


def fresh(timestamp: str, now: datetime) -> int:
    """The timestamp as seconds, if it is within five minutes of now (either way)."""
    try:
        seconds = int(timestamp.strip())
    except ValueError:
        raise Forged(f"the timestamp {timestamp[:20]!r} is not a number") from None
    skew = int(now.timestamp()) - seconds
    if abs(skew) > MAX_SKEW_SECONDS:
        when = "old" if skew > 0 else "in the future"
        raise Forged(
            f"the timestamp is {abs(skew)} seconds {when}; at most {MAX_SKEW_SECONDS} are accepted"
        )
    return seconds


def remember_token(token: str, timestamp: int) -> None:
    """Refuse a Mailgun token seen before. Kept in the rate-counter table, keyed by the
    token's hash and its signed timestamp, which no replay can change; the unique key makes
    the check race-free across processes. Call inside the transaction that stores the mail,
    so a request that fails later leaves its token unused for the provider's retry."""
    key = ratelimit.key_for("mailgun-token", token)
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    try:
        with transaction.atomic():
            RateCounter.objects.create(key=key, window_start=moment, count=1)
    except IntegrityError:
        raise Forged("this Mailgun token was already used: a replayed request") from None


def check_sendgrid_signature(
    public_key: str, signature: str, timestamp: str, body: bytes, now: datetime
) -> None:
    """SendGrid's ECDSA (P-256, SHA-256) signature of timestamp + body."""
    key = sendgrid_key(public_key)
    if not signature or not timestamp:
        raise Forged(f"the request carries no SendGrid signature ({SENDGRID_SIGNATURE})")
    fresh(timestamp, now)
    try:
        key.verify(
            base64.b64decode(signature, validate=True),
            timestamp.encode() + body,
            ec.ECDSA(hashes.SHA256()),
        )
    except (InvalidSignature, binascii.Error):
        raise Forged("the SendGrid signature does not match") from None


def sendgrid_key(public_key: str) -> ec.EllipticCurvePublicKey:
    """The verification key as SendGrid shows it (base64 DER), or PEM."""
    text = public_key.strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(text, validate=True))
    except (ValueError, binascii.Error):
        key = None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise Misconfigured(
            "FOUNDEROPS_SENDGRID_PUBLIC_KEY is not an ECDSA public key "
            "(base64, as SendGrid shows it)"
        )
    return key


# Request bodies.


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Form:
    """A posted form: each field's bytes, and the uploaded files."""

    values: dict[str, bytes] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)

    def text(self, name: str, charset: str = "utf-8") -> str:
        data = self.values.get(name, b"")
        try:
            return data.decode(charset, errors="replace")
        except LookupError:
            return data.decode("utf-8", errors="replace")

    def has(self, *names: str) -> bool:
        return any(self.values.get(name, b"").strip() for name in names)


def parse_form(content_type: str, body: bytes) -> Form:
    """multipart/form-data or urlencoded, without Django's in-memory cap (mail is large)."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        pairs = parse_qsl(
            body.decode("ascii", "replace"), keep_blank_values=True, errors="surrogateescape"
        )
        return Form({name: value.encode("utf-8", "surrogateescape") for name, value in pairs})
    if kind != "multipart/form-data":
        raise Malformed(f"expected a form (multipart/form-data), not {kind or 'no content type'}")
    return _multipart(content_type, body)


def _multipart(content_type: str, body: bytes) -> Form:
    header = b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n"
    try:
        message = BytesParser(policy=policy.default).parsebytes(header + body)
        parts = list(message.iter_parts()) if message.is_multipart() else []
    except PARSE_ERRORS:
        parts = []
    if not parts:
        raise Malformed("the form body cannot be read (multipart/form-data without parts)")
    form = Form()
    for part in parts:
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            continue
        data = _payload(part)
        filename = part.get_filename()
        if filename is not None:
            form.files[name] = Upload(filename, part.get_content_type(), data)
        else:
            form.values[name] = data
    return form


def _payload(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise Malformed(f"the body is not JSON ({error})") from None
    if not isinstance(data, dict):
        raise Malformed("the JSON body must be an object")
    return data


# Payloads to raw mail.


@dataclass
class Rebuilt:
    """The pieces of a mail a provider parsed for us, to put back together."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""
    html: str = ""
    attachments: list[Upload] = field(default_factory=list)
    fallback: dict[str, str] = field(default_factory=dict)


def build_mime(mail: Rebuilt) -> bytes:
    """A raw mail from parsed fields; the same fields always give the same bytes."""
    message = EmailMessage(policy=policy.default)
    for name, value in mail.headers:
        _add_header(message, name, value)
    for name, value in mail.fallback.items():
        if value and name not in message:
            _add_header(message, name, value)
    text, html = _clean(mail.text), _clean(mail.html)
    if html and not text:
        message.set_content(html, subtype="html")
    else:
        message.set_content(text)
        if html:
            message.add_alternative(html, subtype="html")
    for upload in mail.attachments:
        maintype, _, subtype = upload.content_type.partition("/")
        if not maintype or not subtype or "/" in subtype:
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(
            upload.data, maintype=maintype, subtype=subtype, filename=_clean(upload.filename)
        )
    _fix_boundaries(message, mail)
    return message.as_bytes(policy=_GENERATE)


def _add_header(message: EmailMessage, name: str, value: str) -> None:
    """Copy one header if it is well-formed; a malformed one is left out, not fatal."""
    name = name.strip()
    if not name or name.lower() in _BODY_HEADERS or not _header_name(name):
        return
    try:
        message[name] = " ".join(_clean(value).split())
    except PARSE_ERRORS:
        return


def _header_name(name: str) -> bool:
    return name.isascii() and name.isprintable() and ":" not in name and " " not in name


def _clean(text: str) -> str:
    # JSON may carry lone surrogates, which no mail can encode.
    return text.encode("utf-8", "replace").decode("utf-8")


def _fix_boundaries(message: EmailMessage, mail: Rebuilt) -> None:
    seed = hashlib.sha256(
        repr(
            (mail.headers, mail.text, mail.html, [(u.filename, u.data) for u in mail.attachments])
        ).encode("utf-8", "replace")
    ).hexdigest()[:24]
    multiparts = [part for part in message.walk() if part.is_multipart()]
    for index, part in enumerate(multiparts):
        part.set_boundary(f"=_founderops_{seed}_{index}")


def postmark_mime(payload: Mapping[str, Any]) -> bytes:
    """Postmark's inbound JSON: RawEmail when the server includes it, else its fields."""
    raw = payload.get("RawEmail")
    if isinstance(raw, str) and raw.strip():
        return _clean(raw).encode("utf-8")
    full = payload.get("FromFull")
    from_value = _string(payload, "From") or (_address(full) if isinstance(full, dict) else "")
    if not from_value:
        raise Malformed("the Postmark payload has no From (nor FromFull.Email)")
    return build_mime(
        Rebuilt(
            headers=_postmark_headers(payload.get("Headers", [])),
            text=_string(payload, "TextBody"),
            html=_string(payload, "HtmlBody"),
            attachments=_postmark_attachments(payload.get("Attachments", [])),
            fallback={
                "From": from_value,
                "To": _string(payload, "To"),
                "Cc": _string(payload, "Cc"),
                "Subject": _string(payload, "Subject"),
                "Date": _string(payload, "Date"),
                "Reply-To": _string(payload, "ReplyTo"),
            },
        )
    )


def _string(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Malformed(f"{key} must be a string")
    return value


def _address(full: Mapping[str, Any]) -> str:
    email = _string(full, "Email")
    name = _string(full, "Name")
    return f'"{name}" <{email}>' if email and name else email


def _postmark_headers(rows: object) -> list[tuple[str, str]]:
    if not isinstance(rows, list):
        raise Malformed("Headers must be a list of {Name, Value} objects")
    headers = []
    for index, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("Name"), str):
            raise Malformed(f"Headers[{index}] must be an object with a Name and a Value")
        value = row.get("Value", "")
        headers.append((row["Name"], value if isinstance(value, str) else str(value)))
    return headers


def _postmark_attachments(rows: object) -> list[Upload]:
    if not isinstance(rows, list):
        raise Malformed("Attachments must be a list")
    uploads = []
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            raise Malformed(f"Attachments[{index}] must be an object")
        try:
            data = base64.b64decode(_string(row, "Content"), validate=True)
        except binascii.Error:
            raise Malformed(f"Attachments[{index}].Content is not base64") from None
        content_type = _string(row, "ContentType") or "application/octet-stream"
        uploads.append(
            Upload(_string(row, "Name") or f"attachment-{index + 1}", content_type, data)
        )
    return uploads


def mailgun_mime(form: Form) -> bytes:
    """Mailgun's "MIME" route URL posts body-mime; the parsed one posts fields and files."""
    if form.has("body-mime"):
        return form.values["body-mime"]
    if not form.has("body-plain", "body-html", "message-headers", "from"):
        raise Malformed("the Mailgun post has neither body-mime nor body-plain/body-html")
    return build_mime(
        Rebuilt(
            headers=_mailgun_headers(form.text("message-headers")),
            text=form.text("body-plain"),
            html=form.text("body-html"),
            attachments=_numbered_files(form, "attachment-"),
            fallback={
                "From": form.text("from") or form.text("sender"),
                "To": form.text("To") or form.text("recipient"),
                "Subject": form.text("subject"),
                "Message-ID": form.text("Message-Id"),
            },
        )
    )


def _mailgun_headers(text: str) -> list[tuple[str, str]]:
    if not text.strip():
        return []
    try:
        rows = json.loads(text)
    except ValueError:
        raise Malformed("message-headers is not JSON") from None
    if not isinstance(rows, list) or not all(_pair(row) for row in rows):
        raise Malformed("message-headers must be a list of [name, value] pairs")
    return [(str(name), str(value)) for name, value in rows]


def _pair(row: object) -> bool:
    return isinstance(row, list) and len(row) == 2 and all(isinstance(v, str) for v in row)


def _numbered_files(form: Form, prefix: str) -> list[Upload]:
    numbered = [
        (int(name.removeprefix(prefix)), upload)
        for name, upload in form.files.items()
        if name.startswith(prefix) and name.removeprefix(prefix).isdigit()
    ]
    return [upload for _, upload in sorted(numbered, key=lambda pair: pair[0])]


def sendgrid_mime(form: Form) -> bytes:
    """Inbound Parse with "Send Raw" posts `email`; the default posts headers and bodies."""
    if form.has("email"):
        return form.values["email"]
    if not form.has("headers", "from"):
        raise Malformed("the SendGrid post has neither email (raw) nor headers/from fields")
    charsets = _charsets(form.text("charsets"))
    return build_mime(
        Rebuilt(
            headers=_header_block(form.text("headers", charsets.get("headers", "utf-8"))),
            text=form.text("text", charsets.get("text", "utf-8")),
            html=form.text("html", charsets.get("html", "utf-8")),
            attachments=_numbered_files(form, "attachment"),
            fallback={
                "From": form.text("from", charsets.get("from", "utf-8")),
                "To": form.text("to", charsets.get("to", "utf-8")),
                "Subject": form.text("subject", charsets.get("subject", "utf-8")),
            },
        )
    )


def _charsets(text: str) -> dict[str, str]:
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError:
        raise Malformed("charsets is not JSON") from None
    if not isinstance(data, dict):
        raise Malformed("charsets must be a JSON object")
    return {str(k): str(v) for k, v in data.items()}


def _header_block(text: str) -> list[tuple[str, str]]:
    try:
        parsed = HeaderParser(policy=policy.compat32).parsestr(text + "\n\n", headersonly=True)
    except PARSE_ERRORS:
        raise Malformed("headers cannot be read as mail headers") from None
    return [(name, str(value)) for name, value in parsed.items()]
