"""Who a customer is: one record every domain points to, with its identities."""

from __future__ import annotations

from django.db import models

from founderops.core import personal_data


class Customer(models.Model):
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(max_length=254, blank=True, db_index=True)
    plan = models.CharField(max_length=100, blank=True)
    language = models.CharField(max_length=16, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name or self.email or f"customer {self.pk}"


class Identity(models.Model):
    """An identifier another system knows the customer by (email, Stripe id, product user)."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        STRIPE = "stripe", "Stripe customer"
        PRODUCT = "product", "Product user id"
        EXTERNAL = "external", "Other external id"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = models.CharField(max_length=254)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="identity_unique_kind_value")
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


personal_data.personal(Customer, ("name", "email", "notes"), customer_path="")
personal_data.not_personal(Customer, ("plan", "language"))
personal_data.personal(Identity, ("value",), customer_path="customer")
personal_data.not_personal(Identity, ("kind",))
