"""Saved replies (macros): answers the founder reuses, inserted into a draft in one click.

Inserting one counts a use (`support.services.use_macro`). With JavaScript the ticket page
asks for the text as JSON and puts it in the draft; without, the POST redirects back to the
ticket page with `?macro=<id>`, which opens the draft filled in (that GET counts nothing).
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from founderops.accounts.roles import Role
from founderops.core.errors import InvalidInput
from founderops.support import services
from founderops.support.models import SavedReply, Ticket
from founderops.web import access
from founderops.web.access import agent_required, staff_required


class MacroForm(forms.Form):
    title = forms.CharField(label="Title", max_length=120)
    body = forms.CharField(
        label="Reply",
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text="{name} becomes the customer's first name.",
    )
    intent = forms.ChoiceField(label="Suggest it for tickets about", required=False)

    def __init__(self, *args: Any, intents: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ChoiceField, self.fields["intent"])
        field.choices = [("", "— any ticket —"), *intents]

    def clean_body(self) -> str:
        body: str = self.cleaned_data["body"]
        return body.replace("\r\n", "\n").replace("\r", "\n")


def macros_for(ticket: Ticket) -> QuerySet[SavedReply]:
    """Saved replies for the ticket's picker: those meant for its intent first."""
    if not ticket.intent:
        return SavedReply.objects.order_by("-uses", "title")
    suggested = Case(
        When(intent=ticket.intent, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return SavedReply.objects.annotate(suggested=suggested).order_by("suggested", "-uses", "title")


@staff_required
def macro_list(request: HttpRequest) -> HttpResponse:
    context = {
        "macros": SavedReply.objects.order_by("title"),
        "can_edit": access.may(request, Role.AGENT),
    }
    return render(request, "web/macro_list.html", context)


@agent_required
def macro_new(request: HttpRequest) -> HttpResponse:
    form = MacroForm(request.POST or None, intents=access.known_intents())
    return _edit(request, form, None)


@agent_required
def macro_edit(request: HttpRequest, pk: int) -> HttpResponse:
    macro = get_object_or_404(SavedReply, pk=pk)
    initial = {"title": macro.title, "body": macro.body, "intent": macro.intent}
    data = request.POST if request.method == "POST" else None
    form = MacroForm(data, initial=initial, intents=access.known_intents())
    return _edit(request, form, macro)


def _edit(request: HttpRequest, form: MacroForm, macro: SavedReply | None) -> HttpResponse:
    context = {"form": form, "macro": macro}
    if request.method != "POST":
        return render(request, "web/macro_form.html", context)
    if not form.is_valid():
        return render(request, "web/macro_form.html", context, status=400)
    data = form.cleaned_data
    try:
        saved = services.save_macro(
            data["title"], data["body"], data["intent"], access.founder(request), macro
        )
    except InvalidInput as error:
        form.add_error(None, str(error))
        return render(request, "web/macro_form.html", context, status=400)
    messages.success(request, f"Saved “{saved.title}”.")
    return redirect("web:macros")


@agent_required
@require_POST
def macro_delete(request: HttpRequest, pk: int) -> HttpResponse:
    macro = get_object_or_404(SavedReply, pk=pk)
    services.delete_macro(macro, access.founder(request))
    messages.success(request, f"Deleted “{macro.title}”.")
    return redirect("web:macros")


@agent_required
@require_POST
def macro_use(request: HttpRequest, pk: int) -> HttpResponse:
    """Insert a saved reply into ticket `pk`'s draft: JSON for the page's script, else a
    redirect to the ticket page with the draft filled in."""
    ticket = access.get_ticket(pk)
    chosen = request.POST.get("macro", "")
    macro = SavedReply.objects.filter(pk=int(chosen)).first() if chosen.isdigit() else None
    wants_json = "application/json" in request.headers.get("Accept", "")
    if macro is None:
        if wants_json:
            return JsonResponse({"error": "Pick one of the saved replies."}, status=400)
        messages.error(request, "Pick one of the saved replies.")
        return redirect("web:ticket", pk=ticket.pk)
    text = services.use_macro(macro, ticket, access.founder(request))
    if wants_json:
        return JsonResponse({"body": text, "title": macro.title})
    return redirect(
        reverse("web:ticket", kwargs={"pk": ticket.pk}) + f"?macro={macro.pk}#decide-title"
    )
