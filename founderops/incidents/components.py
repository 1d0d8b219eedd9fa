"""Components are created and edited here, so each one's status history starts the day it does."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from founderops.core import clock
from founderops.incidents.models import Component, ComponentStatusChange


def save_component(slug: str, fields: dict[str, Any]) -> tuple[Component, bool]:
    """Create or update the component `slug`; a new one starts operational, from now.

    Without that first change the status page could not tell "up since it was added" from
    "no data", and its 90-day bars would start at the first incident instead."""
    with transaction.atomic():
        component, created = Component.objects.update_or_create(slug=slug, defaults=fields)
        if created:
            now = clock.now()
            Component.objects.filter(pk=component.pk).update(status_since=now)
            component.status_since = now
            ComponentStatusChange.objects.create(
                component=component, at=now, status=component.status
            )
    return component, created
