"""Monitors as code: validation with lines, all-or-nothing apply, plans, export round trip."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from founderops.core import secrets
from founderops.incidents.models import Component, Runbook
from founderops.monitoring import config, heartbeat
from founderops.monitoring.models import MaintenanceWindow, Monitor

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

GOOD = """\
components:
  - name: API
    slug: api
    critical: true
monitors:
  - name: api-health
    kind: http
    target: https://api.example.com/health
    interval: 30s
    timeout: 2500ms
    retries: 1
    component: api
    secret: ${API_TOKEN}
    options:
      expected_status: 200
      keyword: ok
  - name: nightly-backup
    kind: heartbeat
    component: api
    ping_token: ${BACKUP_PING}
    options:
      cron: "0 3 * * *"
      tz: Europe/Paris
      grace: 30m
      max_runtime: 1h
maintenance:
  - title: Database upgrade
    starts: 2026-03-10T02:00:00Z
    ends: 2026-03-10T03:00:00Z
    components: [api]
runbooks:
  - name: restart-api
    trigger: {cause: down, component: api}
    steps:
      - {name: restart, kind: shell, command: systemctl restart api, mode: approval}
"""
ENV = {"API_TOKEN": "s3cret-token", "BACKUP_PING": "backup-ping-token-0123456789"}


def apply(text: str, environ: dict[str, str] | None = None, **kwargs: Any) -> config.Plan:
    return config.apply(config.parse(text), ENV if environ is None else environ, **kwargs)


def errors(text: str) -> list[str]:
    with pytest.raises(config.ConfigInvalid) as caught:
        config.parse(text, "monitors.yaml")
    return caught.value.lines()


def test_it_parses_durations() -> None:
    assert config.parse_duration("30s") == 30
    assert config.parse_duration("5m") == 300
    assert config.parse_duration("1h30m") == 5400
    assert config.parse_duration("2500ms") == 2.5
    assert config.parse_duration(45) == 45


def test_it_refuses_a_bad_duration_with_its_line() -> None:
    text = "monitors:\n  - name: a\n    kind: tcp\n    target: db:5432\n    interval: 5x\n"
    assert errors(text) == [
        "monitors.yaml:5: monitors[1] (a).interval: '5x' is not a duration like 30s, 5m or 1h"
    ]


def test_it_formats_durations_back_to_what_parses() -> None:
    for seconds in (30.0, 300.0, 5400.0, 2.5, 86400.0, 90061.0):
        assert config.parse_duration(config.format_duration(seconds)) == seconds


def test_it_suggests_the_key_meant() -> None:
    text = "monitors:\n  - name: a\n    kind: tcp\n    target: db:5432\n    intervall: 30s\n"
    assert errors(text) == [
        "monitors.yaml:5: monitors[1]: unknown key 'intervall' (did you mean 'interval'?)"
    ]


def test_it_lists_every_error_with_its_line() -> None:
    text = (
        "monitors:\n"
        "  - name: a\n"
        "    kind: htp\n"  # 3
        "  - name: b\n"
        "    kind: http\n"
        "    target: not-a-url\n"  # 6
        "    retries: many\n"  # 7
        "  - name: b\n"  # 8: duplicate
        "    kind: tcp\n"
        "    target: db:5432\n"
    )
    found = errors(text)
    assert found == [
        "monitors.yaml:3: monitors[1].kind: unknown kind 'htp' (did you mean 'http'?)",
        "monitors.yaml:6: monitors[2] (b).target: an HTTP monitor needs a URL starting "
        "with http:// or https://",
        "monitors.yaml:7: monitors[2] (b).retries must be a whole number, not text",
        "monitors.yaml:8: duplicate monitor name 'b' (first on line 4)",
    ]


def test_it_names_the_line_of_broken_yaml() -> None:
    found = errors("monitors:\n  - name: a\n    kind: [tcp\n")
    assert len(found) == 1
    assert found[0].startswith("monitors.yaml:4: not valid YAML")


def test_it_refuses_a_secret_written_in_the_file() -> None:
    text = "monitors:\n  - name: a\n    kind: postgres\n    secret: postgresql://u:pw@db/x\n"
    assert "must name an environment variable, like ${API_TOKEN}" in errors(text)[0]


def test_it_refuses_aliases() -> None:
    text = "components:\n  - &c {name: A, slug: a}\n  - *c\n"
    assert errors(text) == ["monitors.yaml:3: anchors and aliases (*name) are not supported"]


def test_it_refuses_a_component_never_defined() -> None:
    text = "monitors:\n  - name: a\n    kind: tcp\n    target: db:5432\n    component: apx\n"
    assert errors(text) == ["monitors.yaml:2: monitor a: component 'apx' is not defined"]


def test_it_refuses_a_port_out_of_range() -> None:
    text = "monitors:\n  - name: a\n    kind: tcp\n    target: db:99999\n"
    assert errors(text) == [
        "monitors.yaml:4: monitors[1] (a).target: port 99999 is not from 1 to 65535"
    ]


def test_it_refuses_an_expected_status_that_is_not_a_code() -> None:
    text = (
        "monitors:\n  - {name: a, kind: http, target: 'http://x/',\n"
        "     options: {expected_status: ok}}\n"
    )
    assert errors(text) == [
        "monitors.yaml:3: monitors[1] (a).options: option expected_status: 'ok' is not a code"
        " like 200 or 200-299"
    ]


def test_it_refuses_an_empty_file_rather_than_prune_everything() -> None:
    apply(GOOD)
    assert errors("# emptied by a bad merge\n") == [
        "monitors.yaml:1: the file is empty; to have no monitors, write monitors: []"
    ]
    assert Monitor.objects.count() == 2


def test_it_round_trips_the_export_of_an_empty_database() -> None:
    assert apply(config.export(), {}).empty


def test_it_refuses_a_runbook_step_missing_what_its_kind_needs() -> None:
    text = (
        "runbooks:\n  - name: restart\n    trigger: {cause: down}\n    steps:\n"
        "      - {name: restart, kind: shell}\n"
    )
    assert errors(text) == [
        "monitors.yaml:5: runbooks[1] (restart): step 1 (restart): give argv (a list of strings)"
        " or command (no shell is used)"
    ]


def test_it_refuses_a_runbook_trigger_that_can_never_fire() -> None:
    text = (
        "components:\n  - {name: API, slug: api}\n"
        "runbooks:\n  - name: restart\n    trigger: {component: apx, priority: [P1, P9]}\n"
        "    steps: [{name: look, kind: check}]\n"
    )
    assert errors(text) == [
        "monitors.yaml:4: runbook restart: trigger component 'apx' is not defined"
        " (did you mean 'api'?)",
        "monitors.yaml:4: runbook restart: trigger priority 'P9' is not defined",
    ]


def test_it_takes_a_pattern_in_a_runbook_trigger() -> None:
    text = (
        "runbooks:\n  - {name: r, trigger: {component: 'api-*'}, steps: [{name: c, kind: check}]}\n"
    )
    assert config.parse(text).runbooks[0].trigger == {"component": "api-*"}


def test_it_applies_nothing_when_one_entry_is_wrong() -> None:
    broken = GOOD.replace("grace: 30m", "grace: soon")
    with pytest.raises(config.ConfigInvalid):
        apply(broken)
    assert not Monitor.objects.exists()
    assert not Component.objects.exists()


def test_it_applies_nothing_when_a_secret_variable_is_unset() -> None:
    with pytest.raises(config.ConfigInvalid) as caught:
        apply(GOOD, {"BACKUP_PING": ENV["BACKUP_PING"]})
    assert "API_TOKEN (its secret) is not set" in str(caught.value)
    assert not Monitor.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_it_creates_everything_the_file_lists() -> None:
    plan = apply(GOOD)
    assert [c.line() for c in plan.changes] == [
        "+ create component api",
        "+ create monitor api-health",
        "+ create monitor nightly-backup",
        "+ create maintenance Database upgrade",
        "+ create runbook restart-api",
    ]
    api = Monitor.objects.get(name="api-health")
    assert (api.interval_s, api.timeout_s, api.source) == (30, 2.5, "config")
    assert api.component is not None
    assert api.component.slug == "api"
    assert secrets.reveal(api.secret_sealed) == "s3cret-token"
    backup = Monitor.objects.get(name="nightly-backup")
    assert backup.options == {
        "cron": "0 3 * * *",
        "tz": "Europe/Paris",
        "grace_s": 1800.0,
        "max_runtime_s": 3600.0,
        # Where the token came from, so export names the same variable.
        "_ping_token_env": "BACKUP_PING",
    }
    assert backup.ping_token_hash == heartbeat.hash_token(ENV["BACKUP_PING"])
    assert backup.fail_threshold == 1
    window = MaintenanceWindow.objects.get()
    assert list(window.components.values_list("slug", flat=True)) == ["api"]
    assert Runbook.objects.get().source == "config"


@time_machine.travel(NOW, tick=False)
def test_it_plans_nothing_the_second_time() -> None:
    apply(GOOD)
    assert apply(GOOD).empty


@time_machine.travel(NOW, tick=False)
def test_it_names_the_fields_an_update_changes() -> None:
    apply(GOOD)
    plan = apply(GOOD.replace("interval: 30s", "interval: 1m"), dry_run=True)
    assert [c.line() for c in plan.changes] == ["~ update monitor api-health (interval_s)"]
    assert Monitor.objects.get(name="api-health").interval_s == 30


@time_machine.travel(NOW, tick=False)
def test_it_sees_a_rotated_secret() -> None:
    apply(GOOD)
    plan = apply(GOOD, {**ENV, "API_TOKEN": "rotated"})
    assert [c.line() for c in plan.changes] == ["~ update monitor api-health (secret)"]
    assert secrets.reveal(Monitor.objects.get(name="api-health").secret_sealed) == "rotated"


@time_machine.travel(NOW, tick=False)
def test_it_deletes_what_the_file_dropped_only_with_prune() -> None:
    apply(GOOD)
    Monitor.objects.create(name="made-in-ui", kind="tcp", target="db:5432")
    without = GOOD.replace(
        "  - name: nightly-backup", "  - name: nightly-backup\n    enabled: false"
    )
    shorter = without.split("maintenance:")[0]
    plan = apply(shorter)
    assert plan.count("delete") == 0
    assert "maintenance Database upgrade is no longer in the file" in plan.notes[0]
    plan = apply(shorter, prune=True)
    assert sorted(c.line() for c in plan.changes) == [
        "- delete maintenance Database upgrade",
        "- delete runbook restart-api",
    ]
    assert Monitor.objects.filter(name="made-in-ui").exists()


@time_machine.travel(NOW, tick=False)
def test_it_round_trips_an_export() -> None:
    apply(GOOD)
    Monitor.objects.create(
        name="made-in-ui",
        kind="http",
        target="https://x.example/",
        options={"keyword": "hi"},
        secret_sealed=secrets.seal("typed in the cockpit"),
    )
    exported = config.export()
    plan = apply(exported, ENV)
    assert [c.line() for c in plan.changes] == [
        "= adopt monitor made-in-ui"
        " (made in the cockpit, same as the file: now managed by the file)"
    ]
    assert "MONITOR_MADE_IN_UI_SECRET is not set; its stored secret is kept" in plan.notes[0]
    assert apply(exported, ENV).empty
    assert config.export() == exported


@time_machine.travel(NOW, tick=False)
def test_it_never_exports_a_secret() -> None:
    apply(GOOD)
    exported = config.export()
    assert "s3cret-token" not in exported
    assert "secret: ${API_TOKEN}" in exported
    assert "ping_token: ${BACKUP_PING}" in exported


@time_machine.travel(NOW, tick=False)
def test_it_syncs_the_configured_file_only_when_it_changed(tmp_path: Path, settings: Any) -> None:
    path = tmp_path / "monitors.yaml"
    path.write_text(GOOD)
    settings.MONITOR_CONFIG = str(path)
    first = config.sync_from_file(ENV)
    assert first is not None
    assert first.count("create") == 5
    assert config.sync_from_file(ENV) is None
    path.write_text(GOOD.replace("interval: 30s", "interval: 45s"))
    again = config.sync_from_file(ENV)
    assert again is not None
    assert [c.action for c in again.changes] == ["update"]


def test_it_syncs_nothing_without_a_configured_file(settings: Any) -> None:
    settings.MONITOR_CONFIG = ""
    assert config.sync_from_file({}) is None


@time_machine.travel(NOW, tick=False)
def test_it_applies_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "monitors.yaml"
    path.write_text(GOOD)
    call_command("monitors", "apply", str(path), "--dry-run")
    assert "5 to create" in capsys.readouterr().out
    assert not Monitor.objects.exists()
    call_command("monitors", "apply", str(path))
    assert Monitor.objects.count() == 2
    out = tmp_path / "export.yaml"
    call_command("monitors", "export", "--output", str(out))
    assert "name: api-health" in out.read_text()


def test_it_exits_1_listing_the_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "monitors.yaml"
    path.write_text("monitors:\n  - name: a\n    kind: tcp\n    target: nowhere\n")
    with pytest.raises(CommandError, match="1 error; nothing was applied"):
        call_command("monitors", "apply", str(path))
    assert f"{path}:4: monitors[1] (a).target: a TCP monitor needs host:port" in (
        capsys.readouterr().err
    )


def test_it_says_why_the_file_was_not_applied_at_start(tmp_path: Path, settings: Any) -> None:
    path = tmp_path / "monitors.yaml"
    path.write_text("monitors:\n  - name: a\n    kind: tcp\n    target: nowhere\n")
    settings.MONITOR_CONFIG = str(path)
    said: list[str] = []
    config.sync_and_say(said.append)
    assert said[0] == f"{path} was not applied:"
    assert said[1].startswith(f"  {path}:4: monitors[1] (a).target")
    assert not Monitor.objects.exists()


def test_it_accepts_the_engines_retry_interval_and_slow_factor() -> None:
    parsed = config.parse(
        "monitors:\n"
        "  - name: api\n"
        "    kind: http\n"
        "    target: http://127.0.0.1:9/\n"
        "    options: {retry_interval: 4, slow_factor: 1.5}\n"
    )
    assert parsed.monitors[0].options == {"retry_interval": 4, "slow_factor": 1.5}
