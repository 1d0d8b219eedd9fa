"""django-q2 logs every enqueued job at INFO: only the processes that run jobs show it."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from founderops.core import jobs
from founderops.worker import runner

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _job_logger_restored() -> Iterator[None]:
    logger = logging.getLogger("django-q")
    level = logger.level
    yield
    logger.setLevel(level)


def test_it_keeps_the_enqueue_chatter_out_of_other_commands(
    caplog: pytest.LogCaptureFixture,
) -> None:
    jobs.enqueue("founderops.worker.demo.effects", "quiet")
    assert "Enqueued" not in caplog.text


def test_it_logs_the_jobs_in_the_worker_and_up(caplog: pytest.LogCaptureFixture) -> None:
    runner.log_jobs()
    jobs.enqueue("founderops.worker.demo.effects", "loud")
    assert "Enqueued" in caplog.text
