"""Keeping a command's report readable: libraries' chatter stays out of it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

JOB_LOGGER = "django-q"


@contextmanager
def job_log_quiet() -> Iterator[None]:
    """django-q logs "Enqueued …" at INFO for every job; a command's report needs none of it.

    Only while the command runs: the worker's own log keeps its level.
    """
    logger = logging.getLogger(JOB_LOGGER)
    before = logger.level
    logger.setLevel(max(before, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(before)
