"""Intake through the API and the importers: a founder, tokens, and files of every kind."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from founderops.api.tokens import create_token


def bearer(founder: User, *scopes: str) -> dict[str, str]:
    _, token = create_token(founder, "test", list(scopes))
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def writer(founder: User) -> dict[str, str]:
    """Headers of a token that may send and read tickets."""
    return bearer(founder, "tickets:write", "tickets:read")
