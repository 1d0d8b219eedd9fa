"""Real processes: a worker killed with SIGKILL mid-job, and `founderops up` end to end.

The worker runs against the very database this test uses (pytest-django's test database,
a file on SQLite), so the test is transactional: the subprocess must see committed rows.
Every wait is bounded; every process group started here is killed at the end.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psutil
import pytest
from django.conf import settings
from django.db import connection
from django_q.models import Task

from founderops.core import jobs
from founderops.worker import demo

pytestmark = pytest.mark.slow

WAIT = 90.0  # generous bounds for a busy 2-core machine; a healthy run takes seconds
# The job holds for HOLD seconds before its effect, well inside the job timeout, so it is
# still mid-job when killed; its receipt expires RETRY seconds after it was taken.
TIMEOUT, RETRY, HOLD = "8", "10", 6.0


@dataclass
class Started:
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def wait_for(condition: Callable[[], bool], what: str, started: Started) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if started.process.poll() is not None:
            pytest.fail(f"the process exited while waiting for {what}:\n{started.output()}")
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what} after {WAIT} s:\n{started.output()}")
        time.sleep(0.05)


def this_database_url() -> str:
    """The URL of the database this test runs on, for a subprocess to use."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = quote(db["USER"] or "") + (f":{quote(db['PASSWORD'])}" if db["PASSWORD"] else "")
    return f"postgresql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def base_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOUNDEROPS_")}
    env.update(
        FOUNDEROPS_DATA_DIR=str(data_dir),
        FOUNDEROPS_SECRET_KEY=settings.SECRET_KEY,  # job payloads are signed with it
        FOUNDEROPS_WORKERS="1",
        FOUNDEROPS_JOB_POLL_SECONDS="0.2",
        FOUNDEROPS_JOBS_SYNC="false",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[[list[str], dict[str, str]], Started]]:
    started: list[Started] = []

    def start(args: list[str], env: dict[str, str]) -> Started:
        log = tmp_path / f"process-{len(started)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "founderops.cli.main", *args],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, to kill as a whole
            )
        started.append(Started(process, log))
        return started[-1]

    yield start
    for each in started:
        # The group outlives its leader when the leader dies first: kill it regardless.
        with suppress(ProcessLookupError):
            os.killpg(each.process.pid, signal.SIGKILL)
        each.process.wait(timeout=WAIT)


@pytest.fixture
def worker_env(tmp_path: Path) -> dict[str, str]:
    env = base_env(tmp_path / "worker")
    env.update(
        FOUNDEROPS_DATABASE_URL=this_database_url(),
        FOUNDEROPS_JOB_TIMEOUT_SECONDS=TIMEOUT,
        FOUNDEROPS_JOB_RETRY_SECONDS=RETRY,
    )
    return env


def alive(process: psutil.Process) -> bool:
    with suppress(psutil.NoSuchProcess):
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    return False


def succeeded(task_id: str) -> Callable[[], bool]:
    return lambda: Task.objects.filter(id=task_id, success=True).exists()


@pytest.mark.django_db(transaction=True)
def test_it_completes_a_job_exactly_once_after_its_worker_is_killed(
    spawn: Callable[[list[str], dict[str, str]], Started],
    worker_env: dict[str, str],
    tmp_path: Path,
) -> None:
    gate = tmp_path / "gate"
    first = spawn(["worker"], worker_env)
    task_id = jobs.enqueue("founderops.worker.demo.demo_effect", "sigkill", str(gate), HOLD)
    wait_for(lambda: demo.starts("sigkill") == 1, "the job to start", first)

    os.killpg(first.process.pid, signal.SIGKILL)
    first.process.wait(timeout=WAIT)
    assert (demo.effects("sigkill"), succeeded(task_id)()) == (0, False), "killed too late"

    gate.touch()  # the redelivered job need not hold again
    second = spawn(["worker"], worker_env)
    wait_for(succeeded(task_id), "the redelivered job to succeed", second)
    assert (demo.effects("sigkill"), demo.starts("sigkill")) == (1, 2)


@pytest.mark.django_db(transaction=True)
def test_it_stops_a_worker_cleanly_on_sigterm(
    spawn: Callable[[list[str], dict[str, str]], Started], worker_env: dict[str, str]
) -> None:
    worker = spawn(["worker"], worker_env)
    wait_for(lambda: "and the schedules" in worker.output(), "the workers", worker)
    children = psutil.Process(worker.process.pid).children(recursive=True)
    worker.process.send_signal(signal.SIGTERM)
    assert (worker.process.wait(timeout=WAIT), [c.pid for c in children if alive(c)]) == (0, [])


def test_it_serves_the_login_page_until_sigterm_stops_every_process(
    spawn: Callable[[list[str], dict[str, str]], Started], tmp_path: Path
) -> None:
    # The embedded default on a fresh data directory: SQLite, migrated by `up` itself.
    up = spawn(["up", "--port", "0"], base_env(tmp_path / "up"))
    found: list[str] = []

    def url() -> bool:
        found[:] = re.findall(r"running at (http://\S+/)", up.output())
        return bool(found)

    wait_for(url, "the URL", up)
    with urllib.request.urlopen(found[0] + "login/", timeout=WAIT) as response:  # noqa: S310
        status = response.status
    children = psutil.Process(up.process.pid).children(recursive=True)
    up.process.send_signal(signal.SIGTERM)
    exit_code = up.process.wait(timeout=WAIT)
    assert (status, exit_code, [c.pid for c in children if alive(c)]) == (200, 0, [])
