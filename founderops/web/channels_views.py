"""The cockpit's Channels page: mailboxes (owners connect, change and remove them), the
inbound-mail webhooks, the chat widget, and the last mails received with what became of them.

The mailbox password is a password field that never renders its value; an empty password
on edit keeps the stored one.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from founderops.accounts.roles import Role
from founderops.channels import imap, inbound, mailboxes
from founderops.channels.models import Attachment, InboundEmail, Mailbox
from founderops.core.errors import InvalidInput
from founderops.web import access
from founderops.web.access import agent_required, owner_required, staff_required

RECENT_MAILS = 50
# Inbound statuses drawn with the cockpit's existing badge colours.
STATUS_BADGES: dict[str, str] = {
    InboundEmail.Status.PENDING: "status-new",
    InboundEmail.Status.PROCESSED: "status-answered",
    InboundEmail.Status.IGNORED: "",
    InboundEmail.Status.REJECTED: "status-escalated",
}


class MailboxForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="For you, e.g. “Support”.")
    address = forms.EmailField(help_text="The address customers write to; replies come from it.")
    host = forms.CharField(max_length=255, label="IMAP server", help_text="e.g. imap.gmail.com")
    security = forms.ChoiceField(choices=Mailbox.Security.choices, initial=Mailbox.Security.IMAPS)
    port = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=65535,
        help_text="Empty: 993 for IMAPS, 143 otherwise.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    username = forms.CharField(max_length=255, required=False, help_text="Empty: the address.")
    password = forms.CharField(
        label="App password",
        required=False,
        max_length=500,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="An app password (Gmail, Fastmail, iCloud…): stored encrypted, never shown.",
    )
    folder = forms.CharField(max_length=255, initial="INBOX")
    ca_file = forms.CharField(
        max_length=500,
        required=False,
        label="CA file",
        help_text="Only for a server whose certificate comes from a private CA.",
    )
    enabled = forms.BooleanField(required=False, initial=True, label="Poll this mailbox")
    import_existing = forms.BooleanField(
        required=False,
        label="Also turn the mail already in the folder into tickets",
        help_text="Off: only mail that arrives from now on (an old inbox is not answered).",
    )

    def __init__(self, *args: Any, creating: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["password"].required = creating
        if not creating:
            self.fields["password"].help_text = "Leave empty to keep the stored password."
            del self.fields["import_existing"]

    @classmethod
    def for_mailbox(cls, mailbox: Mailbox) -> MailboxForm:
        initial = {
            name: getattr(mailbox, name)
            for name in ("name", "address", "host", "security", "port", "username", "folder")
        }
        initial.update(ca_file=mailbox.ca_file, enabled=mailbox.enabled)
        return cls(initial=initial, creating=False)

    def config(self) -> mailboxes.MailboxConfig:
        data = self.cleaned_data
        return mailboxes.MailboxConfig(
            name=data["name"],
            address=data["address"],
            host=data["host"],
            username=data["username"],
            port=data["port"],
            security=data["security"],
            folder=data["folder"],
            ca_file=data["ca_file"],
            enabled=data["enabled"],
        )


@staff_required
def channels(request: HttpRequest) -> HttpResponse:
    recent = InboundEmail.objects.select_related("ticket", "mailbox").defer("raw")
    rows = [(mail, STATUS_BADGES.get(mail.status, "")) for mail in recent[:RECENT_MAILS]]
    context = {
        "mailboxes": Mailbox.objects.order_by("name"),
        "mails": rows,
        "webhooks": webhook_endpoints(),
        "can_change": access.may(request, Role.OWNER),
        "can_poll": access.may(request, Role.AGENT),
    }
    return render(request, "web/channels.html", context)


def webhook_endpoints() -> list[dict[str, Any]]:
    """Each provider's URL and whether its secret is set (the secret itself never shown)."""
    site = settings.SITE_URL.rstrip("/")
    providers = [
        ("Postmark", "inbound_postmark", "POSTMARK_INBOUND_SECRET", "basic auth in the URL"),
        ("Mailgun", "inbound_mailgun", "MAILGUN_SIGNING_KEY", "signed by Mailgun"),
        ("SendGrid", "inbound_sendgrid", "SENDGRID_INBOUND_SECRET", "basic auth in the URL"),
    ]
    return [
        {
            "provider": provider,
            "url": site + reverse(name),
            "setting": f"FOUNDEROPS_{setting}",
            "configured": bool(getattr(settings, setting)),
            "proof": proof,
        }
        for provider, name, setting, proof in providers
    ]


@staff_required
def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    """A stored attachment, always as a download of opaque bytes: a customer's HTML or SVG
    must never render (and run) inside the cockpit's origin."""
    attachment = get_object_or_404(Attachment, pk=pk)
    path = inbound.attachments_dir() / attachment.path
    if not path.is_file():
        raise Http404("the file of this attachment is missing from the data directory")
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type="application/octet-stream",
    )
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@owner_required
def mailbox_add(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _render_form(request, MailboxForm(creating=True), None)
    form = MailboxForm(request.POST, creating=True)
    if not form.is_valid():
        return _render_form(request, form, None, status=400)
    try:
        mailbox = mailboxes.connect_mailbox(
            form.config(),
            form.cleaned_data["password"],
            _actor(request),
            only_new=not form.cleaned_data["import_existing"],
        )
    except InvalidInput as refused:
        form.add_error(None, str(refused))
        return _render_form(request, form, None, status=400)
    messages.success(request, f"Mailbox “{mailbox.name}” connected. Test the connection below.")
    return redirect("web:channels")


@owner_required
def mailbox_edit(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = get_object_or_404(Mailbox, pk=pk)
    if request.method != "POST":
        return _render_form(request, MailboxForm.for_mailbox(mailbox), mailbox)
    form = MailboxForm(request.POST, creating=False)
    if not form.is_valid():
        return _render_form(request, form, mailbox, status=400)
    try:
        mailboxes.update_mailbox(
            mailbox, form.config(), form.cleaned_data["password"], _actor(request)
        )
    except InvalidInput as refused:
        form.add_error(None, str(refused))
        return _render_form(request, form, mailbox, status=400)
    messages.success(request, f"Mailbox “{mailbox.name}” saved.")
    return redirect("web:channels")


@owner_required
@require_POST
def mailbox_test(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = get_object_or_404(Mailbox, pk=pk)
    try:
        messages.success(request, imap.check_connection(mailbox))
    except imap.MailboxError as failed:
        messages.error(request, f"“{mailbox.name}” cannot be used: {failed}")
    return redirect("web:channels")


@agent_required
@require_POST
def mailbox_poll(request: HttpRequest, pk: int) -> HttpResponse:
    result = imap.poll_mailbox(get_object_or_404(Mailbox, pk=pk))
    if result.error:
        messages.error(request, f"Polling failed: {result.error}")
    else:
        messages.success(request, f"{result}.")
    return redirect("web:channels")


@owner_required
@require_POST
def mailbox_remove(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = get_object_or_404(Mailbox, pk=pk)
    name = mailbox.name
    mailboxes.remove_mailbox(mailbox, _actor(request))
    messages.success(request, f"Mailbox “{name}” removed; the mail it delivered stays.")
    return redirect("web:channels")


def _actor(request: HttpRequest) -> str:
    return f"user:{access.founder(request).get_username()}"


def _render_form(
    request: HttpRequest, form: MailboxForm, mailbox: Mailbox | None, status: int = 200
) -> HttpResponse:
    return render(
        request, "web/mailbox_form.html", {"form": form, "mailbox": mailbox}, status=status
    )
