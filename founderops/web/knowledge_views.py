"""The knowledge base editor: write, preview, publish or unpublish articles, and see what
each article answered (automatically or by the founder) and how customers rated it.

Writes go through `support.services.edit_article` (which audits and queues a retrain); the
Markdown preview uses the same sanitised renderer as every other page (`markdown` filter).
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_POST

from founderops.accounts.roles import Role
from founderops.core.errors import InvalidInput
from founderops.support import services
from founderops.support.models import KnowledgeArticle, Message, Rating, Ticket
from founderops.web import access
from founderops.web.access import agent_required, staff_required
from founderops.web.templatetags.cockpit import markdown

TICKETS_SHOWN = 20
EXAMPLE_CHARS = 500
INTENT = re.compile(r"^[a-z0-9][a-z0-9_]*$")


class ArticleForm(forms.Form):
    title = forms.CharField(label="Title", max_length=200)
    slug = forms.SlugField(
        label="Address (slug)",
        max_length=120,
        required=False,
        help_text="Left empty, it is made from the title. It cannot change later.",
    )
    intent = forms.CharField(
        label="Intent",
        max_length=100,
        help_text="The request this article answers, in lower case: reset_password",
    )
    answer = forms.CharField(
        label="Answer sent to customers (Markdown)",
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    body = forms.CharField(
        label="Full article (Markdown, helps the agent find it)",
        required=False,
        max_length=50_000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    examples = forms.CharField(
        label="Example questions, one per line",
        required=False,
        max_length=50_000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    published = forms.BooleanField(
        label="Published: the agent may answer with it", required=False, initial=True
    )

    def __init__(self, *args: Any, article: KnowledgeArticle | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.article = article
        if article is not None:
            del self.fields["slug"]

    @classmethod
    def for_article(cls, article: KnowledgeArticle) -> ArticleForm:
        initial = {
            "title": article.title,
            "intent": article.intent,
            "answer": article.answer,
            "body": article.body,
            "examples": "\n".join(article.examples),
            "published": article.published,
        }
        return cls(initial=initial, article=article)

    def clean_intent(self) -> str:
        intent: str = self.cleaned_data["intent"].strip()
        if not INTENT.match(intent):
            raise forms.ValidationError(
                "Use lower-case letters, digits and underscores, e.g. reset_password."
            )
        return intent

    def clean_examples(self) -> list[str]:
        lines = [" ".join(line.split()) for line in self.cleaned_data["examples"].splitlines()]
        too_long = [line for line in lines if len(line) > EXAMPLE_CHARS]
        if too_long:
            raise forms.ValidationError(
                f"An example is longer than {EXAMPLE_CHARS} characters: {too_long[0][:60]}…"
            )
        return list(dict.fromkeys(line for line in lines if line))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.article is None and "title" in data:
            slug = data.get("slug") or slugify(data["title"])[:120]
            if not slug:
                self.add_error("slug", "Give an address: the title has no letters to make one.")
            elif KnowledgeArticle.objects.filter(slug=slug).exists():
                self.add_error("slug", f"An article already uses the address {slug!r}.")
            data["slug"] = slug
        return data


@staff_required
def article_detail(request: HttpRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(KnowledgeArticle, pk=pk)
    tickets = (
        Ticket.objects.filter(article=article)
        .select_related("customer")
        .annotate(rated=Exists(Rating.objects.filter(ticket=OuterRef("pk"))))
    )
    page = Paginator(tickets, TICKETS_SHOWN).get_page(request.GET.get("page"))
    context = {
        "article": article,
        "answered": answered_counts(article),
        "csat": article_csat(article),
        "page": page,
        "can_edit": access.may(request, Role.AGENT),
    }
    return render(request, "web/article_detail.html", context)


def answered_counts(article: KnowledgeArticle) -> dict[str, int]:
    """The tickets the agent matched to this article, by who answered them."""
    return Ticket.objects.filter(article=article).aggregate(
        total=Count("pk"),
        automatic=Count("pk", filter=Q(resolved_by="agent")),
        founder=Count("pk", filter=Q(resolved_by="founder")),
        waiting=Count("pk", filter=Q(status=Ticket.Status.ESCALATED)),
    )


def article_csat(article: KnowledgeArticle) -> dict[str, int]:
    """Ratings of the replies on those tickets: all, and the agent's and the founder's."""
    good = Q(score=Rating.Score.GOOD)
    by_agent = Q(message__author=Message.Author.AGENT)
    by_founder = Q(message__author=Message.Author.FOUNDER)
    return Rating.objects.filter(ticket__article=article).aggregate(
        total=Count("pk"),
        good=Count("pk", filter=good),
        agent_total=Count("pk", filter=by_agent),
        agent_good=Count("pk", filter=by_agent & good),
        founder_total=Count("pk", filter=by_founder),
        founder_good=Count("pk", filter=by_founder & good),
    )


@agent_required
def article_new(request: HttpRequest) -> HttpResponse:
    form = ArticleForm(request.POST or None, initial={"published": True})
    return _edit(request, form, None)


@agent_required
def article_edit(request: HttpRequest, pk: int) -> HttpResponse:
    article = get_object_or_404(KnowledgeArticle, pk=pk)
    if request.method == "POST":
        return _edit(request, ArticleForm(request.POST, article=article), article)
    return _edit(request, ArticleForm.for_article(article), article)


def _edit(
    request: HttpRequest, form: ArticleForm, article: KnowledgeArticle | None
) -> HttpResponse:
    """Show the form; on POST save it (or, for "Preview", show it with the preview)."""
    context: dict[str, Any] = {"form": form, "article": article}
    if request.method != "POST" or not form.is_valid():
        return render(request, "web/article_form.html", context, status=_status(request))
    if "preview" in request.POST:
        context["preview"] = form.cleaned_data["answer"]
        return render(request, "web/article_form.html", context)
    data = form.cleaned_data
    try:
        saved = services.edit_article(
            article.slug if article else data["slug"],
            data["title"],
            data["intent"],
            data["body"],
            data["answer"],
            data["examples"],
            data["published"],
            access.founder(request),
        )
    except InvalidInput as error:
        form.add_error(None, str(error))
        return render(request, "web/article_form.html", context, status=400)
    messages.success(request, f"Saved “{saved.title}”. The agent is retrained in the background.")
    return redirect("web:article", pk=saved.pk)


def _status(request: HttpRequest) -> int:
    return 400 if request.method == "POST" else 200


@agent_required
@require_POST
def article_publish(request: HttpRequest, pk: int) -> HttpResponse:
    """Publish or unpublish in one click; the rest of the article stays as it is."""
    article = get_object_or_404(KnowledgeArticle, pk=pk)
    published = request.POST.get("published") == "true"
    services.edit_article(
        article.slug,
        article.title,
        article.intent,
        article.body,
        article.answer,
        article.examples,
        published,
        access.founder(request),
    )
    if published:
        messages.success(request, f"Published “{article.title}”: the agent answers with it.")
    else:
        messages.success(request, f"Unpublished “{article.title}”: the agent no longer uses it.")
    return redirect("web:article", pk=article.pk)


@agent_required
@require_POST
def article_preview(request: HttpRequest) -> HttpResponse:
    """The answer as customers will read it (htmx swaps it in while the founder types)."""
    return render(
        request, "web/_markdown_preview.html", {"html": markdown(request.POST.get("answer", ""))}
    )
