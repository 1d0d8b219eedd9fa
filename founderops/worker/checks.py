"""System checks for the job queue: refuse a configuration that can lose jobs."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error

LOSSY_BROKERS = ("redis",)


def broker_keeps_receipts(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    # django-q2's Redis broker pops a job off the list with no receipt: a worker killed
    # mid-job loses it for good. The database broker keeps the row until the job is done.
    q_cluster: dict[str, Any] = settings.Q_CLUSTER
    lossy = [name for name in LOSSY_BROKERS if name in q_cluster]
    if lossy or "orm" not in q_cluster:
        return [
            Error(
                "the job queue must use django-q2's database broker (Q_CLUSTER['orm'])",
                hint="its delivery receipts redeliver a job whose worker died; Redis has none",
                id="founderops.worker.E001",
            )
        ]
    return []
