"""Admin for the channels: mail in and out is a read-only record; mailboxes live in the cockpit."""

from __future__ import annotations

from django.contrib import admin

from founderops.channels.models import Attachment, InboundEmail, Mailbox, OutboundEmail
from founderops.core.admin import ReadOnlyAdmin


@admin.register(Mailbox)
class MailboxAdmin(ReadOnlyAdmin):
    list_display = ["name", "address", "host", "enabled", "last_polled_at"]
    exclude = ["password_sealed"]


@admin.register(InboundEmail)
class InboundEmailAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "source", "sender", "subject", "status", "ticket"]
    list_filter = ["source", "status"]
    search_fields = ["sender", "subject", "msgid"]
    exclude = ["raw"]


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ["filename", "content_type", "size", "message"]


@admin.register(OutboundEmail)
class OutboundEmailAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "to_address", "subject", "status", "attempts", "sent_at"]
    list_filter = ["status"]
    search_fields = ["to_address", "subject", "msgid"]
