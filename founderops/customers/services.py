"""Every write to customers goes through here."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from founderops.core import clock
from founderops.core.errors import InvalidInput
from founderops.customers.models import Customer, Identity

# A chat visitor who has not given an address yet. `.invalid` is reserved (RFC 2606), so no
# mail can ever reach it; channels skip these customers and the cockpit lists them apart.
VISITOR_DOMAIN = "widget.invalid"


def visitor_email() -> str:
    return f"visitor-{secrets.token_hex(6)}@{VISITOR_DOMAIN}"


def is_visitor(email: str) -> bool:
    return email.endswith("@" + VISITOR_DOMAIN)


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 254:
        raise InvalidInput(f"the email address is longer than 254 characters: {email[:80]!r}…")
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput(f"not an email address: {email[:80]!r}") from None
    return email


def find_or_create_customer(email: str, name: str = "") -> Customer:
    """The customer known by this email, created on first contact."""
    email = normalise_email(email)
    identity = Identity.objects.filter(kind=Identity.Kind.EMAIL, value=email).first()
    if identity:
        return identity.customer
    try:
        with transaction.atomic():
            customer = Customer.objects.create(
                email=email, name=name.strip()[:200], created_at=clock.now()
            )
            Identity.objects.create(customer=customer, kind=Identity.Kind.EMAIL, value=email)
            return customer
    except IntegrityError:
        # Another request created the same customer between our read and write.
        return Identity.objects.get(kind=Identity.Kind.EMAIL, value=email).customer


def add_identity(customer: Customer, kind: str, value: str) -> Identity:
    identity, _ = Identity.objects.get_or_create(
        kind=kind, value=value, defaults={"customer": customer}
    )
    if identity.customer_id != customer.pk:
        raise InvalidInput(f"{kind} {value!r} already belongs to another customer")
    return identity
