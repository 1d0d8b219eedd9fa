"""The registry of personal data: every model field that holds it is declared here.

A privacy request exports or erases a person through this registry, and a test proves that
every text field of every model is either declared personal or declared not personal.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


@dataclass(frozen=True)
class PersonalFields:
    model: type[models.Model]
    fields: tuple[str, ...]
    # Path from this model to customers.Customer ("" for Customer itself, None when the row
    # is reached through the subject it names, as approvals are).
    customer_path: str | None


_PERSONAL: dict[str, PersonalFields] = {}
_NOT_PERSONAL: dict[str, tuple[str, ...]] = {}


def personal(model: type[models.Model], fields: tuple[str, ...], customer_path: str | None) -> None:
    _PERSONAL[model._meta.label] = PersonalFields(model, fields, customer_path)


def not_personal(model: type[models.Model], fields: tuple[str, ...]) -> None:
    _NOT_PERSONAL[model._meta.label] = fields


def personal_fields() -> list[PersonalFields]:
    return list(_PERSONAL.values())


def declared(label: str) -> set[str]:
    names = set(_NOT_PERSONAL.get(label, ()))
    if label in _PERSONAL:
        names |= set(_PERSONAL[label].fields)
    return names
