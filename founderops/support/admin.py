"""Admin for support: knowledge is edited here; tickets and decisions are read-only records."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest

from founderops.core import clock, jobs
from founderops.core.admin import ModelAdmin, ModelForm, ReadOnlyAdmin, TabularInline
from founderops.core.errors import InvalidInput
from founderops.support import services
from founderops.support.models import (
    Decision,
    KnowledgeArticle,
    Message,
    Rating,
    SavedReply,
    Ticket,
    TrainingExample,
)

REFRESH = "founderops.support.tasks.refresh_classifier"


def queue_refresh() -> None:
    transaction.on_commit(lambda: jobs.enqueue(REFRESH))


class ExamplesField(forms.CharField):
    """The example questions, one a line (stored as a JSON list)."""

    widget = forms.Textarea(attrs={"rows": 8})

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        lines = (line.strip() for line in str(value or "").splitlines())
        return list(dict.fromkeys(line for line in lines if line))


class KnowledgeArticleForm(ModelForm[KnowledgeArticle]):
    examples = ExamplesField(required=False, help_text="Questions customers ask, one a line")

    class Meta:
        model = KnowledgeArticle
        fields = ["title", "slug", "intent", "published", "answer", "body", "examples"]

    def clean_intent(self) -> str:
        intent = str(self.cleaned_data["intent"]).strip()
        if intent == services.UNKNOWN_INTENT or len(intent.split()) != 1:
            raise forms.ValidationError(
                f"Use one word such as reset_password (not {services.UNKNOWN_INTENT!r})."
            )
        return intent

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        slug = self.instance.slug if self.instance.pk else data.get("slug", "")
        if data.get("intent") and slug:
            try:
                services.check_intent_free(str(data["intent"]), str(slug))
            except InvalidInput as error:
                self.add_error("intent", str(error))
        return data


@admin.register(KnowledgeArticle)
class KnowledgeArticleAdmin(ModelAdmin[KnowledgeArticle]):
    form = KnowledgeArticleForm
    list_display = ["title", "intent", "published", "updated_at"]
    list_filter = ["published", "intent"]
    search_fields = ["title", "slug", "intent", "body"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # The slug is how `founderops kb import` finds an article again.
        return ["slug", "updated_at"] if obj else ["updated_at"]

    def get_prepopulated_fields(self, request: HttpRequest, obj: Any = None) -> dict[str, Any]:
        return {} if obj else {"slug": ["title"]}

    def save_model(
        self, request: HttpRequest, obj: KnowledgeArticle, form: Any, change: bool
    ) -> None:
        saved = services.save_article(
            obj.slug, obj.title, obj.intent, obj.body, obj.answer, obj.examples, obj.published
        )
        obj.pk, obj.updated_at = saved.pk, saved.updated_at
        queue_refresh()

    def delete_model(self, request: HttpRequest, obj: KnowledgeArticle) -> None:
        super().delete_model(request, obj)
        queue_refresh()


class MessageInline(TabularInline[Message, Ticket]):
    model = Message
    fields = ["created_at", "author", "body"]
    readonly_fields = ["created_at", "author", "body"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    inlines = [MessageInline]
    list_display = ["id", "subject", "customer", "status", "intent", "priority", "created_at"]
    list_filter = ["status", "channel", "priority", "intent"]
    search_fields = ["subject", "external_id", "customer__email"]
    date_hierarchy = "created_at"
    list_select_related = ["customer"]


@admin.register(Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "action", "intent", "confidence", "model_version", "created_at"]
    list_filter = ["action", "intent"]
    search_fields = ["ticket__subject", "reason"]
    list_select_related = ["ticket"]


@admin.register(TrainingExample)
class TrainingExampleAdmin(ModelAdmin[TrainingExample]):
    list_display = ["text", "intent", "source", "created_at"]
    list_filter = ["source", "intent"]
    search_fields = ["text", "intent"]
    fields = ["text", "intent", "source", "ticket", "created_at"]
    readonly_fields = ["ticket", "created_at"]

    def save_model(
        self, request: HttpRequest, obj: TrainingExample, form: Any, change: bool
    ) -> None:
        if obj.created_at is None:
            obj.created_at = clock.now()
        super().save_model(request, obj, form, change)
        queue_refresh()

    def delete_model(self, request: HttpRequest, obj: TrainingExample) -> None:
        super().delete_model(request, obj)
        queue_refresh()


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "author", "created_at", "__str__"]
    list_filter = ["author"]
    search_fields = ["body", "ticket__subject"]
    list_select_related = ["ticket"]


@admin.register(Rating)
class RatingAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "ticket", "score", "channel"]
    list_filter = ["score", "channel"]


@admin.register(SavedReply)
class SavedReplyAdmin(ModelAdmin[SavedReply]):
    list_display = ["title", "intent", "uses", "updated_at"]
    search_fields = ["title", "body"]
