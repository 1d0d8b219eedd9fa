"""Schemathesis fuzzes the REST API from its own OpenAPI schema: no input makes it fail."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from hypothesis import HealthCheck, settings

from founderops.api.api import api
from founderops.api.tokens import create_token
from founderops.wsgi import application

schema = schemathesis.openapi.from_dict(api.get_openapi_schema())


@pytest.fixture
def token(transactional_db: None) -> str:
    owner = User.objects.create_superuser("owner", "owner@example.com", "pass phrase 1234")
    return create_token(owner, "fuzz", ["tickets:write", "tickets:read", "audit:read"])[1]


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_it_never_answers_with_a_server_error(case: Any, token: str) -> None:
    response = case.call(app=application, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code < 500, response.text[:500]
