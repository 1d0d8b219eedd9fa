"""PostgreSQL health checks against the local server on 127.0.0.1:5432."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from founderops.core import secrets
from founderops.monitoring import checks
from founderops.monitoring.models import Monitor
from tests.monitoring.local_servers import closed_port, probe

SERVER = "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A scratch database with pg_stat_statements created but not preloaded (the usual
    state of a server nobody tuned)."""
    name = f"fo_checks_{os.getpid()}"
    try:
        admin = psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432 ({error})")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            with psycopg.connect(f"{SERVER}/{name}", autocommit=True) as scratch:
                scratch.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            yield f"{SERVER}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def monitor(dsn: str, **options: Any) -> Monitor:
    return Monitor(
        name="db",
        kind=Monitor.Kind.POSTGRES,
        secret_sealed=secrets.seal(dsn),
        options=options,
        timeout_s=5,
    )


def test_it_measures_connections_against_the_limit(database: str) -> None:
    result = probe(monitor(database))
    assert result.outcome == "up"
    assert result.metrics["connections"] >= 1
    assert 0 < result.metrics["connections_ratio"] < 1
    assert result.detail["replica"] is False


def test_it_notes_statements_that_are_installed_but_not_loaded(database: str) -> None:
    result = probe(monitor(database))
    assert "shared_preload_libraries" in result.detail["slow_queries_error"]


def test_it_degrades_when_connections_near_the_limit(database: str) -> None:
    result = probe(monitor(database, max_connections_ratio=0.000001))
    assert (result.outcome, result.cause) == ("degraded", "database")
    assert "connections in use" in result.error


def test_it_is_down_with_the_servers_reason_for_a_missing_database(database: str) -> None:
    result = probe(monitor(f"{SERVER}/no_such_database_here"))
    assert result.outcome == "down"
    assert 'database "no_such_database_here" does not exist' in result.error


def test_it_is_down_when_nothing_listens() -> None:
    result = probe(monitor(f"postgresql://postgres@127.0.0.1:{closed_port()}/x"))
    assert result.outcome == "down"
    assert "Connection refused" in result.error or "connection refused" in result.error


def test_it_says_when_no_dsn_is_stored() -> None:
    result = probe(Monitor(name="db", kind=Monitor.Kind.POSTGRES, timeout_s=1))
    assert result.error == "no database DSN is stored for this monitor"


def test_it_degrades_on_replication_lag_and_slow_queries() -> None:
    metrics = {"connections": 3.0, "connections_ratio": 0.03, "replication_lag_s": 90.0}
    metrics["slowest_query_ms"] = 800.0
    result = checks.judge_database(
        metrics, {"max_connections": 100}, {"max_mean_query_ms": 500}, 4.0
    )
    assert result.outcome == "degraded"
    assert result.error == (
        "replication lag 90 s (above 60 s); slowest query averages 800 ms (above 500 ms)"
    )
