"""`founderops monitor check | list | run`, and heartbeats judged by the engine."""

from __future__ import annotations

import io
import os
import signal
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command

from founderops.core import clock
from founderops.monitoring.engine import Engine
from founderops.monitoring.models import CheckResult, Monitor
from tests.monitoring.local_servers import Http, http_server
from tests.worker.test_processes import (  # noqa: F401 - `spawn` is a fixture
    WAIT,
    Started,
    base_env,
    spawn,
    this_database_url,
    wait_for,
)


@pytest.fixture
def server() -> Iterator[Http]:
    with http_server() as running:
        yield running


def command(*args: str) -> str:
    out = io.StringIO()
    call_command("monitor", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_it_checks_one_monitor_and_records_it(server: Http) -> None:
    Monitor.objects.create(name="site", kind=Monitor.Kind.HTTP, target=server.url("/ok"))
    output = command("check", "site")
    assert output.startswith("UP · ")
    assert CheckResult.objects.get().outcome == "up"


@pytest.mark.django_db
def test_it_exits_1_when_the_check_is_down(server: Http) -> None:
    Monitor.objects.create(name="site", kind=Monitor.Kind.HTTP, target=server.url("/error"))
    with pytest.raises(SystemExit) as exit:
        command("check", "site", "--no-record")
    assert exit.value.code == 1
    assert not CheckResult.objects.exists()


@pytest.mark.django_db
def test_it_names_an_unknown_monitor() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no monitor named 'nope'"):
        command("check", "nope")


@pytest.mark.django_db
def test_it_lists_monitors_with_their_state() -> None:
    Monitor.objects.create(name="site", kind=Monitor.Kind.HTTP, target="http://x/", state="down")
    assert "site" in command("list")
    assert " down " in command("list")


@pytest.mark.django_db(transaction=True)
def test_it_judges_a_late_heartbeat_down() -> None:
    Monitor.objects.create(
        name="nightly",
        kind=Monitor.Kind.HEARTBEAT,
        options={"period_s": 60, "grace_s": 10},
        last_ping_at=clock.now() - timedelta(hours=1),
        interval_s=60,
    )
    Engine(jitter=False, flush_every=0.05).run_for(0.4)
    result = CheckResult.objects.get()
    assert result.outcome == "down"
    assert result.error.startswith("no ping for")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_stops_cleanly_on_sigterm(
    spawn: Callable[[list[str], dict[str, str]], Started],  # noqa: F811 - the fixture
    tmp_path: Path,
    server: Http,
) -> None:
    Monitor.objects.create(
        name="site", kind=Monitor.Kind.HTTP, target=server.url("/ok"), interval_s=1
    )
    env = base_env(tmp_path / "engine") | {"FOUNDEROPS_DATABASE_URL": this_database_url()}
    running = spawn(["monitor", "run"], env)
    wait_for(lambda: CheckResult.objects.exists(), "a first check result", running)
    os.killpg(running.process.pid, signal.SIGTERM)
    assert running.process.wait(timeout=WAIT) == 0
    assert "Stopped after" in running.output()
