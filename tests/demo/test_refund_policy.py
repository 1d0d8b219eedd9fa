"""The demo sets the refund policy README suggests, once."""

from __future__ import annotations

import pytest

from founderops.ai import policy
from founderops.cli import demo

pytestmark = pytest.mark.django_db


def test_it_makes_small_recent_refunds_automatic() -> None:
    demo.set_refund_policy()
    assert policy.verdict("support", "refund", 5000, 14, "USD").mode == "auto"


def test_it_leaves_a_refund_policy_the_founder_set_alone() -> None:
    policy.set_policy("support", "refund", "notify", policy.Limits(), "user:fiona")
    assert not demo.set_refund_policy()
