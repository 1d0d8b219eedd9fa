from __future__ import annotations

from typing import Any

from founderops.worker.checks import broker_keeps_receipts


def test_it_accepts_the_database_broker() -> None:
    assert broker_keeps_receipts() == []


def test_it_refuses_the_redis_broker_that_keeps_no_receipts(settings: Any) -> None:
    settings.Q_CLUSTER = {"name": "founderops", "redis": {"host": "127.0.0.1"}}
    assert [m.id for m in broker_keeps_receipts()] == ["founderops.worker.E001"]
