"""The founder's cockpit (server-rendered): inbox, tickets, knowledge, audit trail.

Views stay thin: they read through `access`, write only through the domain services, and
answer every form with a redirect (post/redirect/get) so a reload never repeats an action.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from founderops.accounts.roles import Role
from founderops.ai.models import Approval
from founderops.channels import outbound
from founderops.core import audit
from founderops.core.errors import InvalidInput
from founderops.support import services
from founderops.support.models import (
    Rating,
    SavedReply,
    Ticket,
    TrainingExample,
)
from founderops.web import access
from founderops.web.access import agent_required, staff_required
from founderops.web.forms import (
    AuditFilterForm,
    DecisionForm,
    RelabelForm,
    TicketFilterForm,
    cleaned,
)
from founderops.web.macro_views import macros_for

PAGE_SIZE = 50
ALREADY_DECIDED = "This ticket was already decided, so nothing was sent twice."
STALE_FORM = (
    "Nothing was sent: the form did not name the decision waiting on this ticket (it may be "
    "out of date). Check the reply below and decide again."
)


@staff_required
def inbox(request: HttpRequest) -> HttpResponse:
    page = access.inbox_page(request.GET.get("page"))
    return render(request, "web/inbox.html", {"page": page, "rows": page.object_list})


@staff_required
def ticket_list(request: HttpRequest) -> HttpResponse:
    form = TicketFilterForm(request.GET, intents=access.ticket_intents())
    filters = cleaned(form)
    tickets = access.search_tickets(**filters).annotate(
        rated=Exists(Rating.objects.filter(ticket=OuterRef("pk")))
    )
    page = Paginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
    filtered = any(filters.values())
    return render(
        request, "web/ticket_list.html", {"form": form, "page": page, "filtered": filtered}
    )


@staff_required
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_ticket(request, access.get_ticket(pk))


def render_ticket(
    request: HttpRequest, ticket: Ticket, form: DecisionForm | None = None, status: int = 200
) -> HttpResponse:
    intents = access.known_intents()
    approval = access.pending_approval(ticket)
    latest = approval or access.ticket_approvals(ticket).first()
    if approval is not None and form is None:
        form = DecisionForm.for_approval(approval, intents, _macro_text(request, ticket))
    context = {
        "ticket": ticket,
        # Each reply with its e-mail (delivery status) and the customer's rating, in one query.
        "thread": ticket.messages.select_related("email", "rating").prefetch_related("attachments"),
        "email_off": outbound.kept_in_cockpit(ticket),
        "why": access.reasoning(ticket, latest),
        "approval": approval,
        "latest": latest,
        "decision_form": form,
        "relabel_form": RelabelForm(initial={"intent": ticket.intent}, intents=intents),
        "macros": macros_for(ticket) if approval is not None else [],
        "can_act": access.may(request, Role.AGENT),
        "context": access.ticket_context(ticket, latest),
    }
    return render(request, "web/ticket_detail.html", context, status=status)


def _macro_text(request: HttpRequest, ticket: Ticket) -> str | None:
    """The draft a saved reply fills in without JavaScript (its use was counted by the POST
    that redirected here with ?macro=<id>)."""
    pk = request.GET.get("macro", "")
    macro = SavedReply.objects.filter(pk=int(pk)).first() if pk.isdigit() else None
    return services.fill_macro(macro.body, ticket.customer.name) if macro else None


def _decision(request: HttpRequest, ticket: Ticket) -> tuple[DecisionForm, Approval | None]:
    """The posted decision form, and the approval it decides: only when the form is valid and
    names the approval pending now. Anything else decides nothing."""
    form = DecisionForm(request.POST, intents=access.known_intents())
    approval = access.pending_approval(ticket)
    if approval is None or not form.is_valid():
        return form, None
    return form, approval if approval.pk == form.cleaned_data["approval"] else None


def _refused(
    request: HttpRequest, ticket: Ticket, form: DecisionForm, error: str | None = None
) -> HttpResponse:
    """Nothing was done: say why, on the ticket page (400), or that it was already decided."""
    approval = access.pending_approval(ticket)
    if approval is None:
        messages.info(request, ALREADY_DECIDED)
        return redirect("web:ticket", pk=ticket.pk)
    if error is None and not _names(form, approval):
        # A missing, garbled or stale approval id: show the decision that is pending now.
        messages.error(request, STALE_FORM)
        fresh = DecisionForm.for_approval(approval, access.known_intents())
        return render_ticket(request, ticket, fresh, status=400)
    form.add_error(None, error or _field_problems(form))
    return render_ticket(request, ticket, form, status=400)


def _names(form: DecisionForm, approval: Approval) -> bool:
    """Whether the form's (hidden) approval id is the pending approval's."""
    form.is_valid()
    return bool(form.cleaned_data.get("approval") == approval.pk)


def _field_problems(form: DecisionForm) -> str:
    problems = [
        f"{form.fields[name].label}: {' '.join(str(e) for e in errors)}"
        for name, errors in form.errors.items()
        if name in form.fields
    ]
    return "Nothing was sent. " + ("; ".join(problems) or "Check the form.")


@agent_required
@require_POST
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = access.get_ticket(pk)
    form, approval = _decision(request, ticket)
    if approval is None:
        return _refused(request, ticket, form)
    data = form.cleaned_data
    try:
        sent = services.approve_reply(
            approval, access.founder(request), body=data["body"], intent=data["intent"] or None
        )
    except InvalidInput as error:
        return _refused(request, ticket, form, str(error))
    if sent is None:
        # An account action (a refund...): it runs in a job, which then sends the reply.
        messages.success(request, f"Approved. {ticket.customer} is told once Stripe has done it.")
    else:
        messages.success(request, f"Reply sent to {ticket.customer}.")
    return redirect("web:ticket", pk=ticket.pk)


@agent_required
@require_POST
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = access.get_ticket(pk)
    form, approval = _decision(request, ticket)
    if approval is None:
        return _refused(request, ticket, form)
    # Only a label the founder changed teaches the agent; leaving the suggestion is no verdict.
    chosen = form.cleaned_data["intent"]
    label = chosen if chosen != approval.payload.get("intent") else ""
    try:
        services.reject_escalation(approval, access.founder(request), intent=label)
    except InvalidInput as error:
        return _refused(request, ticket, form, str(error))
    messages.success(request, "Closed without a reply.")
    return redirect("web:ticket", pk=ticket.pk)


@agent_required
@require_POST
def relabel(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = access.get_ticket(pk)
    form = RelabelForm(request.POST, intents=access.known_intents())
    if access.pending_approval(ticket) is not None:
        messages.info(request, "Decide the pending reply instead: its form sets the intent.")
    elif not form.is_valid():
        messages.error(request, "Pick one of the known intents.")
    else:
        intent = form.cleaned_data["intent"]
        with transaction.atomic():
            services.relabel_ticket(
                ticket, intent, access.founder(request), TrainingExample.Source.CORRECTION
            )
        messages.success(request, f"Labelled {intent}: the agent learns from it.")
    return redirect("web:ticket", pk=ticket.pk)


@staff_required
def knowledge_list(request: HttpRequest) -> HttpResponse:
    context = {
        "articles": access.knowledge_articles(),
        "can_edit": access.may(request, Role.AGENT),
    }
    return render(request, "web/knowledge_list.html", context)


@staff_required
def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    events = access.audit_events(**cleaned(form)).order_by("-id")
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "actions": access.audit_actions()}
    return render(request, "web/audit_list.html", context)


@staff_required
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    filters = cleaned(AuditFilterForm(request.GET))
    user = access.founder(request)
    # Reading the trail is itself worth a line in it (who took a copy of what).
    chosen = {name: str(value) for name, value in filters.items() if value}
    audit.record(f"user:{user.get_username()}", "audit.exported", details={"filters": chosen})
    events = access.audit_events(**filters).order_by("id")
    response = StreamingHttpResponse(audit.export_jsonl(events), content_type="application/jsonl")
    response["Content-Disposition"] = 'attachment; filename="founderops-audit.jsonl"'
    return response
