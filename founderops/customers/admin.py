"""Admin for customers: one record each, with the identities other systems know them by."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from founderops.core import clock
from founderops.core.admin import ModelAdmin, ModelForm, TabularInline
from founderops.core.errors import InvalidInput
from founderops.customers import services
from founderops.customers.models import Customer, Identity


class IdentityInline(TabularInline[Identity, Customer]):
    model = Identity
    fields = ["kind", "value"]
    extra = 0


class CustomerForm(ModelForm[Customer]):
    class Meta:
        model = Customer
        fields = ["name", "email", "plan", "language", "notes"]

    def clean_email(self) -> str:
        email = str(self.cleaned_data.get("email") or "")
        if not email:
            return ""
        try:
            email = services.normalise_email(email)
        except InvalidInput as error:
            raise forms.ValidationError(str(error)) from None
        owner = Identity.objects.filter(kind=Identity.Kind.EMAIL, value=email).first()
        if owner and owner.customer_id != self.instance.pk:
            raise forms.ValidationError(f"{email} already belongs to {owner.customer}.")
        return email


@admin.register(Customer)
class CustomerAdmin(ModelAdmin[Customer]):
    form = CustomerForm
    inlines = [IdentityInline]
    list_display = ["__str__", "email", "plan", "language", "created_at"]
    list_filter = ["plan", "language"]
    search_fields = ["name", "email", "identities__value"]
    readonly_fields = ["created_at"]

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        if obj.created_at is None:
            obj.created_at = clock.now()
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        # Tickets find their customer by the email identity: keep one for the main email.
        customer: Customer = form.instance
        if customer.email:
            services.add_identity(customer, Identity.Kind.EMAIL, customer.email)


@admin.register(Identity)
class IdentityAdmin(ModelAdmin[Identity]):
    list_display = ["kind", "value", "customer"]
    list_filter = ["kind"]
    search_fields = ["value", "customer__name", "customer__email"]
    raw_id_fields = ["customer"]
    list_select_related = ["customer"]
