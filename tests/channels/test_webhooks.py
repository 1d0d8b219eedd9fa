"""The inbound-mail webhooks: each provider's proof checked, its payload stored as a mail."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client

from founderops.channels import mime, tasks
from founderops.channels.models import Attachment, InboundEmail, Mailbox
from founderops.support.models import Message, Ticket
from tests.channels.mails import mail

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 1, 5, 10, 30, tzinfo=UTC)
STAMP = str(int(NOW.timestamp()))
SECRET = "inbound:s3cret-pass"
MAILGUN_KEY = "key-mailgun-signing-0123456789"
POSTMARK = "/inbound/postmark/"
MAILGUN = "/inbound/mailgun/"
SENDGRID = "/inbound/sendgrid/"


@pytest.fixture(autouse=True)
def _frozen() -> Any:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def client() -> Client:
    """A provider's server: no session, no CSRF token."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def providers(settings: Any) -> None:
    settings.POSTMARK_INBOUND_SECRET = SECRET
    settings.SENDGRID_INBOUND_SECRET = SECRET
    settings.MAILGUN_SIGNING_KEY = MAILGUN_KEY


def basic(credentials: str = SECRET) -> dict[str, Any]:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(credentials.encode()).decode()}


def stored() -> InboundEmail:
    return InboundEmail.objects.get()


def processed() -> Ticket:
    row = stored()
    tasks.process_inbound(row.pk)
    row.refresh_from_db()
    assert row.ticket is not None, row.reason
    return row.ticket


def first_body(ticket: Ticket) -> str:
    return ticket.messages.filter(author=Message.Author.CUSTOMER).values_list("body", flat=True)[0]


def error_of(response: Any) -> tuple[int, str, str]:
    data = response.json()
    return response.status_code, data["error"], data["detail"]


# Postmark.

POSTMARK_PAYLOAD: dict[str, Any] = {
    "FromName": "Ada Lovelace",
    "From": "ada@example.com",
    "FromFull": {"Email": "ada@example.com", "Name": "Ada Lovelace"},
    "To": "help@inkwell.example",
    "Subject": "Can't log in",
    "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
    "Date": "Mon, 5 Jan 2026 10:00:00 +0000",
    "TextBody": "Hi, I forgot my password.",
    "HtmlBody": "<p>Hi, I forgot my password.</p>",
    "Headers": [
        {"Name": "Message-ID", "Value": "<pm-1@mail.example.com>"},
        {"Name": "X-Spam-Status", "Value": "No"},
    ],
    "Attachments": [],
}


def post_postmark(client: Client, payload: Any, **headers: Any) -> Any:
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return client.post(POSTMARK, body, content_type="application/json", **(headers or basic()))


def test_it_stores_a_postmark_mail(client: Client, providers: None) -> None:
    response = post_postmark(client, POSTMARK_PAYLOAD)
    row = stored()
    assert (response.status_code, response.json()["stored"], row.source, row.msgid) == (
        200,
        True,
        InboundEmail.Source.POSTMARK,
        "pm-1@mail.example.com",
    )


def test_it_turns_a_postmark_mail_into_a_ticket(client: Client, providers: None) -> None:
    post_postmark(client, POSTMARK_PAYLOAD)
    ticket = processed()
    assert (ticket.customer.email, ticket.subject, first_body(ticket)) == (
        "ada@example.com",
        "Can't log in",
        "Hi, I forgot my password.",
    )


def test_it_uses_postmarks_raw_email_when_it_is_included(client: Client, providers: None) -> None:
    raw = mail("Sent raw", msgid="<raw-1@mail.example.com>").decode()
    post_postmark(client, {**POSTMARK_PAYLOAD, "RawEmail": raw})
    assert (stored().msgid, first_body(processed())) == ("raw-1@mail.example.com", "Sent raw")


def test_it_stores_postmark_attachments(client: Client, providers: None) -> None:
    attachment = {
        "Name": "invoice.pdf",
        "Content": base64.b64encode(b"%PDF-1.4").decode(),
        "ContentType": "application/pdf",
        "ContentLength": 8,
    }
    post_postmark(client, {**POSTMARK_PAYLOAD, "Attachments": [attachment]})
    processed()
    assert list(Attachment.objects.values_list("filename", "size")) == [("invoice.pdf", 8)]


def test_it_stores_the_same_postmark_post_once(client: Client, providers: None) -> None:
    first = post_postmark(client, POSTMARK_PAYLOAD)
    again = post_postmark(client, POSTMARK_PAYLOAD)
    assert (again.json()["duplicate"], again.json()["id"], InboundEmail.objects.count()) == (
        True,
        first.json()["id"],
        1,
    )


def test_it_rebuilds_a_mail_without_message_id_the_same_way_each_time(
    client: Client, providers: None
) -> None:
    payload = {**POSTMARK_PAYLOAD, "Headers": [], "Attachments": []}
    post_postmark(client, payload)
    post_postmark(client, payload)
    assert (InboundEmail.objects.count(), stored().msgid.startswith("sha256:")) == (1, True)


def test_it_refuses_postmark_without_credentials(client: Client, providers: None) -> None:
    response = client.post(POSTMARK, json.dumps(POSTMARK_PAYLOAD), content_type="application/json")
    assert (response.status_code, response["WWW-Authenticate"]) == (
        401,
        'Basic realm="founderops-inbound"',
    )


def test_it_refuses_postmark_with_a_wrong_password(client: Client, providers: None) -> None:
    response = post_postmark(client, POSTMARK_PAYLOAD, **basic("inbound:guess"))
    assert (error_of(response), InboundEmail.objects.count()) == (
        (403, "forged", "the basic-auth user or password is wrong"),
        0,
    )


def test_it_refuses_credentials_that_are_not_base64(client: Client, providers: None) -> None:
    response = post_postmark(client, POSTMARK_PAYLOAD, HTTP_AUTHORIZATION="Basic !!!")
    assert response.status_code == 403


def test_it_answers_404_when_postmark_is_not_configured(client: Client) -> None:
    response = post_postmark(client, POSTMARK_PAYLOAD)
    assert error_of(response) == (
        404,
        "not_configured",
        "the Postmark inbound webhook is not configured (set FOUNDEROPS_POSTMARK_INBOUND_SECRET)",
    )


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        ("{not json", "the body is not JSON"),
        ("[1, 2]", "the JSON body must be an object"),
        ({"Subject": "no sender"}, "the Postmark payload has no From"),
        ({**POSTMARK_PAYLOAD, "Headers": "Message-ID: x"}, "Headers must be a list"),
        ({**POSTMARK_PAYLOAD, "Headers": [{"Value": "x"}]}, "Headers[0] must be an object"),
        ({**POSTMARK_PAYLOAD, "TextBody": 7}, "TextBody must be a string"),
        (
            {**POSTMARK_PAYLOAD, "Attachments": [{"Name": "a", "Content": "%%%"}]},
            "Attachments[0].Content is not base64",
        ),
    ],
)
def test_it_refuses_a_malformed_postmark_body(
    client: Client, providers: None, payload: Any, detail: str
) -> None:
    status, error, said = error_of(post_postmark(client, payload))
    assert (status, error, said.startswith(detail), InboundEmail.objects.count()) == (
        400,
        "malformed",
        True,
        0,
    )


def test_it_refuses_an_empty_body(client: Client, providers: None) -> None:
    assert error_of(post_postmark(client, b"")) == (400, "malformed", "the request has no body")


def test_it_refuses_a_body_larger_than_any_mail(
    client: Client, providers: None, settings: Any
) -> None:
    settings.MAIL_MAX_BYTES = 1024
    huge = {**POSTMARK_PAYLOAD, "TextBody": "x" * 1_100_000}
    assert post_postmark(client, huge).status_code == 413


def test_it_keeps_only_the_headers_of_an_oversized_posted_mail(
    client: Client, providers: None, settings: Any
) -> None:
    settings.MAIL_MAX_BYTES = 4096
    response = post_postmark(client, {**POSTMARK_PAYLOAD, "TextBody": "x" * 10_000})
    assert (response.status_code, response.json()["status"]) == (200, "rejected")


def test_it_accepts_a_mail_larger_than_the_cap_on_forms(client: Client, providers: None) -> None:
    # Django refuses form bodies over FOUNDEROPS_MAX_REQUEST_BYTES (2.5 MB); mail is larger.
    attachment = {
        "Name": "scan.pdf",
        "Content": base64.b64encode(b"%PDF" + b"x" * 3_000_000).decode(),
        "ContentType": "application/pdf",
    }
    response = post_postmark(client, {**POSTMARK_PAYLOAD, "Attachments": [attachment]})
    assert (response.status_code, response.json()["status"]) == (200, "pending")


def test_it_files_a_posted_mail_under_the_mailbox_it_was_sent_to(
    client: Client, providers: None
) -> None:
    box = Mailbox.objects.create(name="Help", address="help@inkwell.example")
    post_postmark(client, POSTMARK_PAYLOAD)
    assert stored().mailbox == box


def test_it_only_accepts_posts(client: Client, providers: None) -> None:
    assert client.get(POSTMARK, **basic()).status_code == 405


def test_it_needs_no_login_and_no_csrf_token(client: Client, providers: None) -> None:
    assert post_postmark(client, POSTMARK_PAYLOAD).status_code == 200


# Mailgun.


def mailgun_signed(timestamp: str = STAMP, token: str = "t" * 50) -> dict[str, str]:
    digest = hmac.new(MAILGUN_KEY.encode(), (timestamp + token).encode(), hashlib.sha256)
    return {"timestamp": timestamp, "token": token, "signature": digest.hexdigest()}


def mailgun_mime(
    raw: bytes | None = None, signature: dict[str, str] | None = None
) -> dict[str, str]:
    fields = {"body-mime": (raw or mail(msgid="<mg-1@mail.example.com>")).decode()}
    return {**fields, **(signature or mailgun_signed())}


def test_it_stores_a_mailgun_mime_post(client: Client, providers: None) -> None:
    response = client.post(MAILGUN, mailgun_mime())
    assert (response.status_code, stored().source, stored().msgid) == (
        200,
        InboundEmail.Source.MAILGUN,
        "mg-1@mail.example.com",
    )


def test_it_stores_a_parsed_mailgun_post(client: Client, providers: None) -> None:
    headers = [["From", "Ada Lovelace <ada@example.com>"], ["Subject", "Export empty"]]
    headers.append(["Message-Id", "<mg-2@mail.example.com>"])
    fields = {
        "message-headers": json.dumps(headers),
        "body-plain": "The export is empty.",
        "body-html": "<p>The export is empty.</p>",
        **mailgun_signed(),
    }
    client.post(MAILGUN, fields)
    ticket = processed()
    assert (stored().msgid, ticket.subject, first_body(ticket)) == (
        "mg-2@mail.example.com",
        "Export empty",
        "The export is empty.",
    )


def test_it_stores_mailgun_attachments(client: Client, providers: None) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    fields: dict[str, Any] = {
        "from": "ada@example.com",
        "subject": "Scan",
        "body-plain": "Attached.",
        "attachment-1": SimpleUploadedFile("scan.png", b"\x89PNG", content_type="image/png"),
        **mailgun_signed(),
    }
    client.post(MAILGUN, fields)
    processed()
    assert list(Attachment.objects.values_list("filename", "content_type")) == [
        ("scan.png", "image/png")
    ]


def test_it_refuses_a_forged_mailgun_signature(client: Client, providers: None) -> None:
    forged = {**mailgun_signed(), "signature": "0" * 64}
    assert error_of(client.post(MAILGUN, mailgun_mime(signature=forged)))[:2] == (403, "forged")


def test_it_refuses_a_mailgun_post_signed_with_another_key(client: Client, providers: None) -> None:
    other = hmac.new(b"another-key", (STAMP + "t" * 50).encode(), hashlib.sha256).hexdigest()
    signature = {"timestamp": STAMP, "token": "t" * 50, "signature": other}
    assert client.post(MAILGUN, mailgun_mime(signature=signature)).status_code == 403


def test_it_refuses_an_unsigned_mailgun_post(client: Client, providers: None) -> None:
    response = client.post(MAILGUN, {"body-mime": mail().decode()})
    assert error_of(response)[2].startswith("the request carries no Mailgun signature")


@pytest.mark.parametrize(("offset", "word"), [(-301, "old"), (301, "in the future")])
def test_it_refuses_a_mailgun_timestamp_more_than_five_minutes_off(
    client: Client, providers: None, offset: int, word: str
) -> None:
    signature = mailgun_signed(timestamp=str(int(NOW.timestamp()) + offset))
    status, _, detail = error_of(client.post(MAILGUN, mailgun_mime(signature=signature)))
    assert (status, detail) == (
        403,
        f"the timestamp is 301 seconds {word}; at most 300 are accepted",
    )


def test_it_accepts_a_timestamp_within_five_minutes(client: Client, providers: None) -> None:
    signature = mailgun_signed(timestamp=str(int(NOW.timestamp()) - 299))
    assert client.post(MAILGUN, mailgun_mime(signature=signature)).status_code == 200


def test_it_refuses_a_replayed_mailgun_token(client: Client, providers: None) -> None:
    first = client.post(MAILGUN, mailgun_mime())
    replay = client.post(MAILGUN, mailgun_mime(mail("Changed", msgid="<other@x>")))
    assert (first.status_code, error_of(replay)[2], InboundEmail.objects.count()) == (
        200,
        "this Mailgun token was already used: a replayed request",
        1,
    )


def test_it_refuses_a_replay_a_minute_later(client: Client, providers: None) -> None:
    client.post(MAILGUN, mailgun_mime())
    with time_machine.travel(datetime(2026, 1, 5, 10, 31, tzinfo=UTC), tick=False):
        assert client.post(MAILGUN, mailgun_mime()).status_code == 403


def test_it_leaves_the_token_of_a_failed_request_for_the_retry(
    client: Client, providers: None
) -> None:
    broken = client.post(MAILGUN, {**mailgun_signed(), "message-headers": "not json"})
    retry = client.post(MAILGUN, mailgun_mime())
    assert (broken.status_code, retry.status_code) == (400, 200)


def test_it_refuses_a_mailgun_post_without_a_mail(client: Client, providers: None) -> None:
    status, _, detail = error_of(client.post(MAILGUN, mailgun_signed()))
    assert (status, detail) == (
        400,
        "the Mailgun post has neither body-mime nor body-plain/body-html",
    )


def test_it_refuses_a_mailgun_post_that_is_not_a_form(client: Client, providers: None) -> None:
    response = client.post(MAILGUN, json.dumps(mailgun_signed()), content_type="application/json")
    assert error_of(response)[:2] == (400, "malformed")


def test_it_answers_404_when_mailgun_is_not_configured(client: Client) -> None:
    assert client.post(MAILGUN, mailgun_mime()).status_code == 404


# SendGrid.

BOUNDARY = "xYzZY"


def form_body(
    fields: dict[str, bytes], files: dict[str, tuple[str, str, bytes]] | None = None
) -> bytes:
    chunks = []
    for name, value in fields.items():
        head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        chunks.append(head.encode() + value + b"\r\n")
    for name, (filename, content_type, data) in (files or {}).items():
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
        )
        chunks.append(head.encode() + data + b"\r\n")
    return b"".join(chunks) + f"--{BOUNDARY}--\r\n".encode()


def post_sendgrid(client: Client, body: bytes, **headers: Any) -> Any:
    content_type = f"multipart/form-data; boundary={BOUNDARY}"
    return client.post(SENDGRID, body, content_type=content_type, **{**basic(), **headers})


RAW_FORM = form_body({"email": mail(msgid="<sg-1@mail.example.com>"), "to": b"help@x"})


def test_it_stores_a_sendgrid_raw_post(client: Client, providers: None) -> None:
    response = post_sendgrid(client, RAW_FORM)
    assert (response.status_code, stored().source, stored().msgid) == (
        200,
        InboundEmail.Source.SENDGRID,
        "sg-1@mail.example.com",
    )


def test_it_stores_a_parsed_sendgrid_post(client: Client, providers: None) -> None:
    headers = b"From: Ada <ada@example.com>\r\nSubject: Export\r\nMessage-ID: <sg-2@x>\r\n"
    body = form_body(
        {
            "headers": headers,
            "text": "Caf\xe9 export is empty".encode("latin-1"),
            "charsets": b'{"text": "iso-8859-1", "headers": "UTF-8"}',
        },
        {"attachment1": ("notes.txt", "text/plain", b"some notes")},
    )
    post_sendgrid(client, body)
    ticket = processed()
    assert (stored().msgid, first_body(ticket), Attachment.objects.get().filename) == (
        "sg-2@x",
        "Café export is empty",
        "notes.txt",
    )


def test_it_refuses_sendgrid_with_a_wrong_password(client: Client, providers: None) -> None:
    response = post_sendgrid(client, RAW_FORM, **basic("inbound:wrong"))
    assert (response.status_code, InboundEmail.objects.count()) == (403, 0)


def test_it_refuses_a_sendgrid_post_without_a_mail(client: Client, providers: None) -> None:
    response = post_sendgrid(client, form_body({"to": b"help@x"}))
    assert error_of(response) == (
        400,
        "malformed",
        "the SendGrid post has neither email (raw) nor headers/from fields",
    )


def test_it_refuses_a_form_without_parts(client: Client, providers: None) -> None:
    response = post_sendgrid(client, b"this is not multipart")
    assert error_of(response)[:2] == (400, "malformed")


def test_it_answers_404_when_sendgrid_is_not_configured(client: Client) -> None:
    assert post_sendgrid(client, RAW_FORM).status_code == 404


@pytest.fixture
def sendgrid_key(settings: Any, providers: None) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    settings.SENDGRID_PUBLIC_KEY = base64.b64encode(public).decode()
    return key


def signed(key: ec.EllipticCurvePrivateKey, body: bytes, timestamp: str = STAMP) -> dict[str, Any]:
    signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_SIGNATURE": base64.b64encode(signature).decode(),
        "HTTP_X_TWILIO_EMAIL_EVENT_WEBHOOK_TIMESTAMP": timestamp,
    }


def test_it_accepts_a_sendgrid_post_with_a_valid_signature(
    client: Client, sendgrid_key: ec.EllipticCurvePrivateKey
) -> None:
    assert post_sendgrid(client, RAW_FORM, **signed(sendgrid_key, RAW_FORM)).status_code == 200


def test_it_refuses_a_sendgrid_post_whose_body_was_changed(
    client: Client, sendgrid_key: ec.EllipticCurvePrivateKey
) -> None:
    tampered = RAW_FORM.replace(b"forgot my password", b"want a refund now!")
    response = post_sendgrid(client, tampered, **signed(sendgrid_key, RAW_FORM))
    assert error_of(response) == (403, "forged", "the SendGrid signature does not match")


def test_it_refuses_an_unsigned_sendgrid_post_when_a_key_is_set(
    client: Client, sendgrid_key: ec.EllipticCurvePrivateKey
) -> None:
    assert post_sendgrid(client, RAW_FORM).status_code == 403


def test_it_refuses_an_old_sendgrid_signature(
    client: Client, sendgrid_key: ec.EllipticCurvePrivateKey
) -> None:
    old = str(int(NOW.timestamp()) - 3600)
    response = post_sendgrid(client, RAW_FORM, **signed(sendgrid_key, RAW_FORM, timestamp=old))
    assert error_of(response)[2] == "the timestamp is 3600 seconds old; at most 300 are accepted"


def test_it_says_when_the_sendgrid_key_setting_is_not_a_key(
    client: Client, providers: None, settings: Any
) -> None:
    settings.SENDGRID_PUBLIC_KEY = "bm90IGEga2V5"
    status, error, detail = error_of(post_sendgrid(client, RAW_FORM))
    assert (status, error, detail.startswith("FOUNDEROPS_SENDGRID_PUBLIC_KEY is not")) == (
        500,
        "misconfigured",
        True,
    )


# Rebuilding a mail from fields.


def test_it_leaves_out_a_header_it_cannot_copy() -> None:
    from founderops.channels import webhooks

    rebuilt = webhooks.Rebuilt(
        headers=[("Bad Name", "x"), ("X-Ok", "fine\r\nInjected: yes")],
        text="hello",
        fallback={"From": "ada@example.com"},
    )
    parsed = mime.parse_mail(webhooks.build_mime(rebuilt))
    assert (parsed.header("x-ok"), parsed.header("injected"), parsed.sender) == (
        "fine Injected: yes",
        "",
        "ada@example.com",
    )
