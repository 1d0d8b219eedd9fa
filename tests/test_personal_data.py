"""Every text-like column of every FounderOps model is declared personal or not personal."""

from __future__ import annotations

from django.apps import apps
from django.db import models

from founderops.core import personal_data

TEXT_FIELDS = (models.CharField, models.TextField, models.JSONField, models.BinaryField)


def undeclared() -> list[str]:
    missing = []
    for model in apps.get_models():
        if not model.__module__.startswith("founderops."):
            continue
        declared = personal_data.declared(model._meta.label)
        for field in model._meta.concrete_fields:
            if isinstance(field, TEXT_FIELDS) and field.name not in declared:
                missing.append(f"{model._meta.label}.{field.name}")
    return missing


def test_it_knows_whether_every_text_column_holds_personal_data() -> None:
    assert undeclared() == []


def test_it_can_reach_the_customer_from_every_personal_model() -> None:
    for entry in personal_data.personal_fields():
        if entry.customer_path:
            related = entry.model._meta
            for part in entry.customer_path.split("__"):
                remote = related.get_field(part).related_model
                assert isinstance(remote, type)
                assert issubclass(remote, models.Model)
                related = remote._meta
            assert related.label == "customers.Customer"
