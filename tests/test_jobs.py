"""The job seam: queued for the workers, or run at once inside `running_inline`."""

from __future__ import annotations

from pathlib import Path

import pytest
from django_q.models import OrmQ

from founderops.core import jobs
from founderops.worker import demo

pytestmark = pytest.mark.django_db
JOB = "founderops.worker.demo.demo_effect"


def test_it_queues_a_job_for_the_workers(tmp_path: Path) -> None:
    jobs.enqueue(JOB, "queued", str(tmp_path), 0)
    assert (OrmQ.objects.count(), demo.effects("queued")) == (1, 0)


def test_it_runs_a_job_at_once_inside_running_inline(tmp_path: Path) -> None:
    with jobs.running_inline():
        jobs.enqueue(JOB, "inline", str(tmp_path), 0)
    assert (OrmQ.objects.count(), demo.effects("inline")) == (0, 1)


def test_it_queues_again_after_running_inline(tmp_path: Path) -> None:
    with jobs.running_inline():
        pass
    jobs.enqueue(JOB, "after", str(tmp_path), 0)
    assert OrmQ.objects.count() == 1
