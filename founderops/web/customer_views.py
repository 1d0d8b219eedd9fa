"""Customers: the list, and one customer's timeline of everything that happened with them."""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Count, F, Max, Min, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from founderops.customers.models import Customer, Identity
from founderops.customers.services import VISITOR_DOMAIN
from founderops.revenue.models import BillingCustomer
from founderops.support.models import Rating, Ticket
from founderops.web.access import staff_required
from founderops.web.forms import FilterForm, cleaned
from founderops.web.revenue_views import customer_card
from founderops.web.timeline import running_dunning, timeline

PAGE_SIZE = 50


class CustomerFilterForm(FilterForm):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=200,
        widget=forms.SearchInput(
            attrs={"placeholder": "Name or e-mail", "data-shortcut": "search"}
        ),
    )
    visitors = forms.BooleanField(label="Include chat visitors without an e-mail", required=False)


def search_customers(query: str, visitors: bool = False) -> QuerySet[Customer]:
    """Customers with their ticket count and last contact, the most recent contact first.

    Chat visitors who never gave an address are left out unless asked for: there can be
    many, and none of them can be written to."""
    customers = Customer.objects.annotate(
        ticket_count=Count("tickets"), last_contact=Max("tickets__created_at")
    )
    if not visitors:
        customers = customers.exclude(email__endswith="@" + VISITOR_DOMAIN)
    query = query.strip()
    if query:
        customers = customers.filter(Q(name__icontains=query) | Q(email__icontains=query))
    return customers.order_by(F("last_contact").desc(nulls_last=True), "name", "id")


@staff_required
def customer_list(request: HttpRequest) -> HttpResponse:
    form = CustomerFilterForm(request.GET)
    filters = cleaned(form)
    customers = search_customers(filters["q"], bool(filters.get("visitors")))
    page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "web/customer_list.html", {"form": form, "page": page})


def first_contact(customer: Customer) -> datetime:
    """When they first got in touch: their first ticket or message, when they became a billing
    customer (the Stripe customer's creation or their first invoice, in the mode the revenue
    numbers use), or the record's creation when that is earlier (a record created after
    replaying or importing their history is younger than all of these)."""
    tickets = Ticket.objects.filter(customer=customer)
    found = tickets.aggregate(ticket=Min("created_at"), message=Min("messages__created_at"))
    stripe_ids = customer.identities.filter(kind=Identity.Kind.STRIPE).values("value")
    billing = BillingCustomer.objects.filter(
        Q(customer=customer) | Q(stripe_id__in=stripe_ids), livemode=settings.STRIPE_LIVEMODE
    ).aggregate(account=Min("created"), invoice=Min("invoices__created"))
    seen: list[datetime | None] = [
        customer.created_at,
        found["ticket"],
        found["message"],
        billing["account"],
        billing["invoice"],
    ]
    return min(moment for moment in seen if moment is not None)


@staff_required
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    ratings = Rating.objects.filter(ticket__customer=customer).aggregate(
        total=Count("pk"), good=Count("pk", filter=Q(score=Rating.Score.GOOD))
    )
    context = {
        "customer": customer,
        "identities": customer.identities.order_by("kind", "value"),
        "ticket_count": customer.tickets.count(),
        "first_contact": first_contact(customer),
        "ratings": ratings,
        "timeline": timeline(customer),
        "dunning": running_dunning(customer),
        "revenue": customer_card(customer.pk),
    }
    return render(request, "web/customer_detail.html", context)
