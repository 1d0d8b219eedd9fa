"""Monitors as code: one YAML file the founder keeps in git, in step with the cockpit.

The file (FOUNDEROPS_MONITOR_CONFIG, or `founderops monitors apply FILE`) lists
`components`, `monitors`, `maintenance` windows and `runbooks`. It is read in three steps:

1. **Validate** the whole file from yaml's node tree (`yaml.compose`), so every error names
   its line: unknown keys (with the closest known one), wrong types, duplicate names, bad
   durations ("30s", "5m", "1h30m"), unknown kinds, components named but never defined.
   All errors are collected; one is enough to apply nothing.
2. **Plan**: compare with the database: create, update (naming the fields), delete (only
   rows the file made, only with `prune`), and *adopt* (a row made in the cockpit that the
   file now describes identically: it becomes read-only in the cockpit, nothing else moves).
3. **Apply** the plan in one transaction: it all happens or nothing does.

`export` writes the database in the same schema, so export then apply changes nothing.

Secrets are never in the file: `secret: ${API_TOKEN}` (a DSN or header value) and
`ping_token: ${BACKUP_PING}` (a heartbeat's URL token) name environment variables, read at
apply. Export writes the variable the secret came from, or `MONITOR_<NAME>_SECRET` for a
secret typed in the cockpit; when that variable is unset at apply, the stored secret is kept.

`sync_from_file` is what a start runs: it applies the configured file when its SHA-256
differs from the last one applied (kept in the audit trail, so a fresh database applies it
again), with prune: the file owns the rows it made.
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.db import transaction
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from founderops.core import audit, clock, secrets
from founderops.core.errors import InvalidInput
from founderops.core.models import AuditEvent
from founderops.incidents import components, runbooks
from founderops.incidents.models import Component, Incident, Runbook
from founderops.monitoring import checks, heartbeat
from founderops.monitoring.models import MaintenanceWindow, Monitor

MAX_FILE_BYTES = 1024 * 1024
APPLIED = "monitoring.config_applied"
CONFIG = Monitor.Source.CONFIG
MANAGED_NOTE = "managed in monitors.yaml"

SECTIONS = ("components", "monitors", "maintenance", "runbooks")
COMPONENT_KEYS = {"name", "slug", "description", "critical", "public"}
MONITOR_KEYS = {
    "name",
    "kind",
    "target",
    "interval",
    "timeout",
    "retries",
    "fail_threshold",
    "recover_threshold",
    "component",
    "enabled",
    "secret",
    "ping_token",
    "options",
}
WINDOW_KEYS = {"title", "starts", "ends", "monitors", "components", "announce"}
RUNBOOK_KEYS = {"name", "description", "trigger", "steps", "enabled"}
TRIGGER_KEYS = {"cause", "component", "monitor", "priority", "source"}
STEP_KINDS = {"http", "shell", "wait", "check"}
STEP_MODES = {"auto", "approval", "notify"}

# What each kind's `options:` may hold, and the types each accepts. Heartbeat durations are
# written "5m" in the file and kept in seconds (`period_s`) in the database.
SCALAR = (str, int, float, bool)
NUMBER = (int, float)
KIND_OPTIONS: dict[str, dict[str, tuple[type, ...]]] = {
    # The names founderops.monitoring.checks reads.
    "http": {
        "method": (str,),
        "headers": (dict,),
        "body": (str,),
        "expected_status": (int, str, list),
        "keyword": (str,),
        "keyword_absent": (str,),
        "json_path": (str,),
        "json_value": (*SCALAR, list, dict),
        "max_latency_ms": NUMBER,
        "max_redirects": (int,),
        "verify_tls": (bool,),
        "ca_file": (str,),
        "ratelimit_min_ratio": NUMBER,
        "max_body_bytes": (int,),
    },
    "tcp": {},
    "tls": {"server_name": (str,), "min_days": NUMBER, "ca_file": (str,)},
    "dns": {"record_type": (str,), "expected": (list, str), "nameserver": (str,), "port": (int,)},
    "heartbeat": {
        "period": (str, int, float),
        "grace": (str, int, float),
        "cron": (str,),
        "tz": (str,),
        "max_runtime": (str, int, float),
    },
    "postgres": {
        "max_connections_ratio": NUMBER,
        "max_replication_lag_s": NUMBER,
        "max_mean_query_ms": NUMBER,
        "slow_queries": (int,),
    },
}
# The engine's and state machine's own options, for every kind that is checked on a schedule
# (a heartbeat waits for pings instead): seconds between re-checks while a failure is not
# confirmed yet, and how many times its normal latency counts as slow.
for _kind in ("http", "tcp", "tls", "dns", "postgres"):
    KIND_OPTIONS[_kind] |= {"retry_interval": NUMBER, "slow_factor": NUMBER}
HEARTBEAT_DURATIONS = ("period", "grace", "max_runtime")
DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
# Divisors and multipliers, so "2500ms" is exactly 2.5 s (0.001 is not exact in binary).
UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
SLUG = re.compile(r"[-a-zA-Z0-9_]+")


# Errors.


@dataclass(frozen=True)
class Problem:
    line: int
    message: str


class ConfigInvalid(Exception):
    """The file cannot be applied: every problem found, each with its line."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [f"{self.source}:{p.line}: {p.message}" for p in self.problems]


# What the file says.


@dataclass(frozen=True)
class ComponentSpec:
    slug: str
    name: str
    description: str = ""
    critical: bool = False
    public: bool = True
    line: int = 0


@dataclass(frozen=True)
class MonitorSpec:
    name: str
    kind: str
    target: str = ""
    interval_s: int = 60
    timeout_s: float = 10.0
    retries: int = 0
    fail_threshold: int = 3
    recover_threshold: int = 2
    component: str = ""
    enabled: bool = True
    options: dict[str, Any] = field(default_factory=dict)
    secret_env: str | None = None
    ping_token_env: str | None = None
    line: int = 0


@dataclass(frozen=True)
class WindowSpec:
    title: str
    starts_at: datetime
    ends_at: datetime
    monitors: tuple[str, ...] = ()
    components: tuple[str, ...] = ()
    announce: bool = True
    line: int = 0


@dataclass(frozen=True)
class RunbookSpec:
    name: str
    description: str = ""
    trigger: dict[str, Any] = field(default_factory=dict)
    steps: list[Any] = field(default_factory=list)
    enabled: bool = True
    line: int = 0


@dataclass(frozen=True)
class Config:
    source: str
    components: list[ComponentSpec] = field(default_factory=list)
    monitors: list[MonitorSpec] = field(default_factory=list)
    windows: list[WindowSpec] = field(default_factory=list)
    runbooks: list[RunbookSpec] = field(default_factory=list)


# Durations.


def parse_duration(value: object) -> float:
    """Seconds in "30s", "5m", "1h30m", "250ms", "2d" or a bare number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration like 30s, 5m or 1h")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"{value!r} is negative")
        return float(value)
    text = str(value).strip().lower().replace(" ", "")
    parts = DURATION_PART.findall(text)
    if not text or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"{value!r} is not a duration like 30s, 5m or 1h")
    return sum(
        float(number) / 1000 if unit == "ms" else float(number) * UNITS[unit]
        for number, unit in parts
    )


def format_duration(seconds: float) -> str:
    """The shortest exact spelling: 30s, 5m, 1h30m; fractions of a second in ms."""
    if seconds != int(seconds):
        return f"{round(seconds * 1000)}ms"
    left, out = int(seconds), ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if left >= size:
            out, left = out + f"{left // size}{unit}", left % size
    return out + (f"{left}s" if left or not out else "")


# Reading the file.


def load(path: Path | str) -> Config:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigInvalid(
            str(path), [Problem(0, f"cannot read the file: {error.strerror}")]
        ) from None
    return parse(data, str(path))


def parse(data: bytes | str, source: str = "monitors.yaml") -> Config:
    """The file's content, validated; ConfigInvalid lists every problem with its line."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigInvalid(source, [Problem(1, f"the file is larger than {MAX_FILE_BYTES} bytes")])
    try:
        text = raw.decode("utf-8")
        aliases = _aliases(text)
        if aliases:
            raise ConfigInvalid(source, aliases)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except UnicodeDecodeError:
        raise ConfigInvalid(source, [Problem(1, "the file is not UTF-8 text")]) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = _line(mark)
        raise ConfigInvalid(source, [Problem(line, f"not valid YAML: {error.problem}")]) from None
    reader = _Reader()
    config = reader.config(root, source)
    if reader.problems:
        raise ConfigInvalid(source, reader.problems)
    return config


def _aliases(text: str) -> list[Problem]:
    """Aliases (*name) refused: a small file must not expand into a huge one (billion
    laughs), and every value should have a line of its own."""
    return [
        Problem(_line(event.start_mark), "anchors and aliases (*name) are not supported")
        for event in yaml.parse(text, Loader=yaml.SafeLoader)
        if isinstance(event, yaml.AliasEvent)
    ]


def _line(mark: Any) -> int:
    return int(mark.line) + 1 if mark is not None else 1


class _Reader:
    """Walks the node tree, turning it into specs and collecting problems."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self._constructor = yaml.SafeLoader("")

    def fail(self, node: Node, message: str) -> None:
        self.problems.append(Problem(node.start_mark.line + 1, message))

    def config(self, root: Node | None, source: str) -> Config:
        if root is None:
            # An emptied file (a bad merge, a failed copy) would otherwise prune every monitor.
            message = "the file is empty; to have no monitors, write monitors: []"
            self.problems.append(Problem(1, message))
            return Config(source)
        top = self.mapping(root, "the file", SET_OF_SECTIONS)
        if top is None:
            return Config(source)
        config = Config(
            source,
            components=self.each(top.get("components"), "components", self.component),
            monitors=self.each(top.get("monitors"), "monitors", self.monitor),
            windows=self.each(top.get("maintenance"), "maintenance", self.window),
            runbooks=self.each(top.get("runbooks"), "runbooks", self.runbook),
        )
        self.cross_check(config, top)
        return config

    # Shapes.

    def mapping(self, node: Node, where: str, allowed: set[str]) -> dict[str, Node] | None:
        if not isinstance(node, MappingNode):
            self.fail(node, f"{where} must be a mapping of key: value")
            return None
        found: dict[str, Node] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, ScalarNode) else None
            if not isinstance(name, str):
                self.fail(key, f"{where}: keys must be plain words")
            elif name in found:
                self.fail(key, f"{where}: {name!r} is given twice")
            elif allowed and name not in allowed:
                self.fail(key, f"{where}: unknown key {name!r}{suggest(name, allowed)}")
            else:
                found[name] = value
        return found

    def each(self, node: Node | None, where: str, read: Callable[[Node, str], Any]) -> list[Any]:
        if node is None or _is_null(node):
            return []
        if not isinstance(node, SequenceNode):
            self.fail(node, f"{where} must be a list (each item starting with '- ')")
            return []
        items = [read(item, f"{where}[{index + 1}]") for index, item in enumerate(node.value)]
        return [item for item in items if item is not None]

    def value(self, node: Node) -> Any:
        return self._constructor.construct_object(node, deep=True)

    def typed(
        self, fields: dict[str, Node], key: str, kinds: tuple[type, ...], where: str, default: Any
    ) -> Any:
        node = fields.get(key)
        if node is None:
            return default
        value = self.value(node)
        if value is None and default is None:
            return None
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            self.fail(node, f"{where}.{key} must be {_kind_words(kinds)}, not {_type_word(value)}")
            return default
        return value

    def text(self, fields: dict[str, Node], key: str, where: str, default: str = "") -> str:
        value = self.typed(fields, key, (str, int, float), where, default)
        return str(value)

    def number(
        self, fields: dict[str, Node], key: str, where: str, default: int, low: int, high: int
    ) -> int:
        value = self.typed(fields, key, (int,), where, default)
        if not low <= value <= high:
            self.fail(fields[key], f"{where}.{key} must be from {low} to {high}, not {value}")
            return default
        return int(value)

    def duration(self, fields: dict[str, Node], key: str, where: str, default: float) -> float:
        node = fields.get(key)
        if node is None:
            return default
        try:
            seconds = parse_duration(self.value(node))
        except ValueError as error:
            self.fail(node, f"{where}.{key}: {error}")
            return default
        if seconds <= 0:
            self.fail(node, f"{where}.{key} must be longer than 0s")
            return default
        return seconds

    def required(
        self, fields: dict[str, Node], keys: tuple[str, ...], node: Node, where: str
    ) -> bool:
        missing = [key for key in keys if key not in fields]
        for key in missing:
            self.fail(node, f"{where}: {key} is required")
        return not missing

    def env_reference(self, fields: dict[str, Node], key: str, where: str) -> str | None:
        node = fields.get(key)
        if node is None:
            return None
        value = self.value(node)
        match = ENV_REFERENCE.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            self.fail(
                node,
                f"{where}.{key} must name an environment variable, like ${{API_TOKEN}}: "
                "the file is kept in git, its secrets are not",
            )
            return None
        return match[1]

    # Sections.

    def component(self, node: Node, where: str) -> ComponentSpec | None:
        fields = self.mapping(node, where, COMPONENT_KEYS)
        if fields is None or not self.required(fields, ("name", "slug"), node, where):
            return None
        slug = self.text(fields, "slug", where)
        if not SLUG.fullmatch(slug):
            self.fail(
                fields["slug"], f"{where}.slug {slug!r} may hold only letters, digits, - and _"
            )
        return ComponentSpec(
            slug=slug,
            name=self.text(fields, "name", where)[:100],
            description=self.text(fields, "description", where)[:300],
            critical=self.typed(fields, "critical", (bool,), where, False),
            public=self.typed(fields, "public", (bool,), where, True),
            line=node.start_mark.line + 1,
        )

    def monitor(self, node: Node, where: str) -> MonitorSpec | None:
        fields = self.mapping(node, where, MONITOR_KEYS)
        if fields is None or not self.required(fields, ("name", "kind"), node, where):
            return None
        name = self.text(fields, "name", where)
        if not SLUG.fullmatch(name) or len(name) > 100:
            self.fail(
                fields["name"], f"{where}.name {name!r} may hold only letters, digits, - and _"
            )
        kind = self.text(fields, "kind", where)
        if kind not in KIND_OPTIONS:
            self.fail(
                fields["kind"],
                f"{where}.kind: unknown kind {kind!r}{suggest(kind, set(KIND_OPTIONS))}",
            )
            return None
        where = f"{where} ({name})"
        beat = kind == Monitor.Kind.HEARTBEAT
        spec = MonitorSpec(
            name=name,
            kind=kind,
            target=self.text(fields, "target", where),
            interval_s=round(self.duration(fields, "interval", where, 60.0)),
            timeout_s=self.duration(fields, "timeout", where, 10.0),
            retries=self.number(fields, "retries", where, 0, 0, 10),
            fail_threshold=self.number(fields, "fail_threshold", where, 1 if beat else 3, 1, 100),
            recover_threshold=self.number(
                fields, "recover_threshold", where, 1 if beat else 2, 1, 100
            ),
            component=self.text(fields, "component", where),
            enabled=self.typed(fields, "enabled", (bool,), where, True),
            options=self.options(fields.get("options"), kind, where),
            secret_env=self.env_reference(fields, "secret", where),
            ping_token_env=self.env_reference(fields, "ping_token", where),
            line=node.start_mark.line + 1,
        )
        self.check_monitor(spec, fields, node, where)
        return spec

    def options(self, node: Node | None, kind: str, where: str) -> dict[str, Any]:
        if node is None or _is_null(node):
            return {}
        known = KIND_OPTIONS[kind]
        fields = self.mapping(node, f"{where}.options", set(known))
        if fields is None:
            return {}
        options: dict[str, Any] = {}
        for key in fields:
            value = self.typed(fields, key, known[key], f"{where}.options", None)
            if value is None:
                continue
            if kind == Monitor.Kind.HEARTBEAT and key in HEARTBEAT_DURATIONS:
                seconds = self.duration(fields, key, f"{where}.options", 0.0)
                if seconds:
                    options[f"{key}_s"] = seconds
            else:
                options[key] = value
        if "expected_status" in options:
            try:
                checks.status_ranges(options["expected_status"])
            except checks.BadOptions as error:
                self.fail(fields["expected_status"], f"{where}.options: {error}")
        if kind == Monitor.Kind.HEARTBEAT:
            for problem in heartbeat.check_options(options):
                self.fail(node, f"{where}.options: {problem}")
        return options

    def check_monitor(
        self, spec: MonitorSpec, fields: dict[str, Node], node: Node, where: str
    ) -> None:
        problem = target_problem(spec.kind, spec.target)
        if problem:
            self.fail(fields.get("target", node), f"{where}.target: {problem}")
        if spec.ping_token_env and spec.kind != Monitor.Kind.HEARTBEAT:
            self.fail(fields["ping_token"], f"{where}.ping_token is for heartbeat monitors only")
        if spec.interval_s < 1:
            self.fail(fields["interval"], f"{where}.interval must be at least 1s")

    def window(self, node: Node, where: str) -> WindowSpec | None:
        fields = self.mapping(node, where, WINDOW_KEYS)
        if fields is None or not self.required(fields, ("title", "starts", "ends"), node, where):
            return None
        starts = self.moment(fields["starts"], f"{where}.starts")
        ends = self.moment(fields["ends"], f"{where}.ends")
        if starts and ends and ends <= starts:
            self.fail(fields["ends"], f"{where}: ends must be after starts")
        if starts is None or ends is None:
            return None
        return WindowSpec(
            title=self.text(fields, "title", where)[:200],
            starts_at=starts,
            ends_at=ends,
            monitors=tuple(self.names(fields, "monitors", where)),
            components=tuple(self.names(fields, "components", where)),
            announce=self.typed(fields, "announce", (bool,), where, True),
            line=node.start_mark.line + 1,
        )

    def moment(self, node: Node, where: str) -> datetime | None:
        value = self.value(node)
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                self.fail(node, f"{where}: {value!r} is not a time like 2026-02-01T02:00:00Z")
                return None
        if not isinstance(value, datetime):
            self.fail(node, f"{where} must be a time like 2026-02-01T02:00:00Z")
            return None
        if value.tzinfo is None:
            self.fail(node, f"{where}: give the time zone (Z or +01:00)")
            return None
        return value.astimezone(UTC)

    def names(self, fields: dict[str, Node], key: str, where: str) -> list[str]:
        value = self.typed(fields, key, (list,), where, [])
        if not all(isinstance(item, str) for item in value):
            self.fail(fields[key], f"{where}.{key} must be a list of names")
            return []
        return list(value)

    def runbook(self, node: Node, where: str) -> RunbookSpec | None:
        fields = self.mapping(node, where, RUNBOOK_KEYS)
        if fields is None or not self.required(fields, ("name", "trigger", "steps"), node, where):
            return None
        name = self.text(fields, "name", where)[:100]
        where = f"{where} ({name})"
        trigger_fields = self.mapping(fields["trigger"], f"{where}.trigger", TRIGGER_KEYS)
        trigger = {key: self.value(value) for key, value in (trigger_fields or {}).items()}
        before = len(self.problems)
        steps = self.steps(fields["steps"], where)
        if trigger_fields and len(self.problems) == before:
            # What each kind of step needs (a shell step's argv, a wait's seconds…), checked
            # here rather than found missing when the runbook runs during an incident.
            try:
                runbooks.validate(trigger, steps)
            except InvalidInput as error:
                self.fail(fields["steps"], f"{where}: {error}")
        return RunbookSpec(
            name=name,
            description=self.text(fields, "description", where),
            trigger=trigger,
            steps=steps,
            enabled=self.typed(fields, "enabled", (bool,), where, True),
            line=node.start_mark.line + 1,
        )

    def steps(self, node: Node, where: str) -> list[Any]:
        if not isinstance(node, SequenceNode) or not node.value:
            self.fail(node, f"{where}.steps must be a list of at least one step")
            return []
        steps = []
        for index, item in enumerate(node.value):
            step = self.value(item)
            at = f"{where}.steps[{index + 1}]"
            if not isinstance(step, dict) or not isinstance(step.get("name"), str):
                self.fail(item, f"{at} must be a mapping with a name")
                continue
            if step.get("kind") not in STEP_KINDS:
                self.fail(item, f"{at}.kind must be one of {', '.join(sorted(STEP_KINDS))}")
            if "mode" in step and step["mode"] not in STEP_MODES:
                self.fail(item, f"{at}.mode must be one of {', '.join(sorted(STEP_MODES))}")
            if any(isinstance(v, datetime) for v in step.values()):
                self.fail(item, f"{at}: quote times; a step holds text, numbers and lists")
            steps.append(step)
        return steps

    # Across sections.

    def cross_check(self, config: Config, top: dict[str, Node]) -> None:
        self.unique([(c.slug, c.line) for c in config.components], "component slug")
        self.unique([(c.name, c.line) for c in config.components], "component name")
        self.unique([(m.name, m.line) for m in config.monitors], "monitor name")
        self.unique([(w.title, w.line) for w in config.windows], "maintenance title")
        self.unique([(r.name, r.line) for r in config.runbooks], "runbook name")
        slugs = {c.slug for c in config.components} | set(
            Component.objects.values_list("slug", flat=True)
        )
        monitors = {m.name for m in config.monitors} | set(
            Monitor.objects.values_list("name", flat=True)
        )
        for spec in config.monitors:
            if spec.component and spec.component not in slugs:
                self.problems.append(
                    Problem(
                        spec.line,
                        f"monitor {spec.name}: component {spec.component!r} is "
                        f"not defined{suggest(spec.component, slugs)}",
                    )
                )
        for window in config.windows:
            for name in window.monitors:
                if name not in monitors:
                    self.problems.append(
                        Problem(
                            window.line,
                            f"maintenance {window.title!r}: no monitor {name!r}"
                            + suggest(name, monitors),
                        )
                    )
            for slug in window.components:
                if slug not in slugs:
                    self.problems.append(
                        Problem(
                            window.line,
                            f"maintenance {window.title!r}: no component {slug!r}"
                            + suggest(slug, slugs),
                        )
                    )
        for runbook in config.runbooks:
            self.trigger_names(runbook, "component", slugs)
            self.trigger_names(runbook, "priority", PRIORITIES)

    def trigger_names(self, runbook: RunbookSpec, key: str, known: set[str]) -> None:
        """A trigger naming what does not exist never fires: say so now, not during an outage
        (a pattern such as "api-*" may match later rows and is left alone)."""
        wanted = runbook.trigger.get(key, [])
        for value in wanted if isinstance(wanted, list) else [wanted]:
            name = str(value)
            if not any(c in name for c in "*?[") and name not in known:
                self.problems.append(
                    Problem(
                        runbook.line,
                        f"runbook {runbook.name}: trigger {key} {name!r} is not defined"
                        + suggest(name, known),
                    )
                )

    def unique(self, keys: list[tuple[str, int]], what: str) -> None:
        first: dict[str, int] = {}
        for key, line in keys:
            if key in first:
                self.problems.append(
                    Problem(line, f"duplicate {what} {key!r} (first on line {first[key]})")
                )
            else:
                first[key] = line


SET_OF_SECTIONS = set(SECTIONS)
PRIORITIES = set(Incident.Priority.values)


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"


WORDS = {
    str: "text",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a mapping",
}


def _kind_words(kinds: tuple[type, ...]) -> str:
    return " or ".join(dict.fromkeys(WORDS.get(kind, kind.__name__) for kind in kinds))


def _type_word(value: object) -> str:
    if value is None:
        return "empty"
    return WORDS.get(type(value), type(value).__name__)


def suggest(word: str, choices: set[str]) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def target_problem(kind: str, target: str) -> str:
    """What is wrong with a monitor's target for its kind ("" when nothing)."""
    if kind == Monitor.Kind.HTTP and not re.match(r"https?://[^\s/]+", target):
        return "an HTTP monitor needs a URL starting with http:// or https://"
    if kind == Monitor.Kind.TCP and not re.fullmatch(r"\[?[^\s/]+\]?:\d{1,5}", target):
        return "a TCP monitor needs host:port, like db.example.com:5432"
    if kind == Monitor.Kind.TLS and not re.fullmatch(r"(https://)?[^\s/]+(:\d{1,5})?/?", target):
        return "a TLS monitor needs a host, host:port or https:// URL"
    port = (
        re.search(r":(\d{1,5})/?$", target)
        if kind in (Monitor.Kind.TCP, Monitor.Kind.TLS)
        else None
    )
    if port and not 1 <= int(port.group(1)) <= 65535:
        return f"port {port.group(1)} is not from 1 to 65535"
    if kind == Monitor.Kind.DNS and not re.fullmatch(r"[^\s/:]+", target):
        return "a DNS monitor needs a host name, like example.com"
    if kind == Monitor.Kind.HEARTBEAT and target:
        return "a heartbeat has no target: the job pings its URL"
    return ""


# Planning and applying.


@dataclass
class Change:
    action: str  # create, update, delete, adopt
    what: str  # component, monitor, maintenance, runbook
    name: str
    fields: tuple[str, ...] = ()
    run: Callable[[], None] = field(default=lambda: None, repr=False, compare=False)

    def line(self) -> str:
        sign = {"create": "+", "update": "~", "delete": "-", "adopt": "="}[self.action]
        detail = f" ({', '.join(self.fields)})" if self.fields else ""
        if self.action == "adopt":
            detail = " (made in the cockpit, same as the file: now managed by the file)"
        return f"{sign} {self.action} {self.what} {self.name}{detail}"


@dataclass
class Plan:
    source: str
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    applied: bool = False

    def count(self, action: str) -> int:
        return sum(1 for change in self.changes if change.action == action)

    @property
    def empty(self) -> bool:
        return not self.changes

    def summary(self) -> str:
        counts = ", ".join(
            f"{self.count(a)} to {a}" for a in ("create", "update", "delete", "adopt")
        )
        return f"{self.source}: {counts}" if self.changes else f"{self.source}: no changes"


def plan(config: Config, environ: Mapping[str, str], prune: bool = False) -> Plan:
    """What applying `config` would change (ConfigInvalid: a secret's variable is unset)."""
    planner = _Planner(config, environ, prune)
    result = planner.build()
    if planner.problems:
        raise ConfigInvalid(config.source, planner.problems)
    return result


def apply(
    config: Config,
    environ: Mapping[str, str],
    prune: bool = False,
    dry_run: bool = False,
    actor: str = "system",
    digest: str = "",
) -> Plan:
    """Plan, then (unless `dry_run`) make every change in one transaction."""
    with transaction.atomic():
        result = plan(config, environ, prune)
        if dry_run:
            return result
        for change in result.changes:
            change.run()
        result.applied = True
        audit.record(
            actor,
            APPLIED,
            ("monitor_config", config.source),
            outcome=result.summary(),
            details={
                "digest": digest,
                "changes": [change.line() for change in result.changes][:200],
            },
        )
    return result


def default_env(name: str, what: str) -> str:
    """The variable export names for a secret typed in the cockpit."""
    return f"MONITOR_{re.sub(r'[^A-Z0-9]', '_', name.upper())}_{what}"


class _Planner:
    def __init__(self, config: Config, environ: Mapping[str, str], prune: bool) -> None:
        self.config, self.environ, self.prune = config, environ, prune
        self.problems: list[Problem] = []
        self.result = Plan(config.source)

    def build(self) -> Plan:
        for component in self.config.components:
            self.component(component)
        for monitor in self.config.monitors:
            self.monitor(monitor)
        for window in self.config.windows:
            self.window(window)
        for runbook in self.config.runbooks:
            self.runbook(runbook)
        self.removed()
        return self.result

    def add(self, change: Change) -> None:
        self.result.changes.append(change)

    def compare(
        self,
        what: str,
        name: str,
        row: Any,
        wanted: dict[str, Any],
        current: dict[str, Any],
        run: Callable[[], None],
    ) -> None:
        changed = tuple(key for key, value in wanted.items() if current.get(key) != value)
        if row is None:
            self.add(Change("create", what, name, run=run))
        elif changed:
            self.add(Change("update", what, name, changed, run=run))
        elif getattr(row, "source", CONFIG) != CONFIG:
            self.add(Change("adopt", what, name, run=run))

    # Components (never deleted by a file: they carry the status page's history).

    def component(self, spec: ComponentSpec) -> None:
        row = Component.objects.filter(slug=spec.slug).first()
        wanted = {
            "name": spec.name,
            "description": spec.description,
            "critical": spec.critical,
            "public": spec.public,
        }
        current = _attrs(row, wanted)

        def run() -> None:
            components.save_component(spec.slug, wanted)

        self.compare("component", spec.slug, row, wanted, current, run)

    # Monitors.

    def monitor(self, spec: MonitorSpec) -> None:
        row = Monitor.objects.select_related("component").filter(name=spec.name).first()
        options = dict(spec.options)
        if spec.secret_env and spec.secret_env != default_env(spec.name, "SECRET"):
            options["_secret_env"] = spec.secret_env
        if spec.ping_token_env and spec.ping_token_env != default_env(spec.name, "PING_TOKEN"):
            options["_ping_token_env"] = spec.ping_token_env
        wanted: dict[str, Any] = {
            "kind": spec.kind,
            "target": spec.target,
            "interval_s": spec.interval_s,
            "timeout_s": spec.timeout_s,
            "retries": spec.retries,
            "fail_threshold": spec.fail_threshold,
            "recover_threshold": spec.recover_threshold,
            "enabled": spec.enabled,
            "options": options,
        }
        current = _attrs(row, wanted)
        wanted["component"] = spec.component
        current["component"] = row.component.slug if row and row.component else ""
        secret = self.secret(spec, row)
        if secret is not None:
            wanted["secret"] = secret
            current["secret"] = secrets.reveal(row.secret_sealed) if row else None
        token = self.ping_token(spec, row)
        if token is not None:
            wanted["ping_token"] = heartbeat.hash_token(token)
            current["ping_token"] = row.ping_token_hash if row else None

        def run() -> None:
            self.save_monitor(spec, row, wanted, secret, token)

        self.compare("monitor", spec.name, row, wanted, current, run)

    def secret(self, spec: MonitorSpec, row: Monitor | None) -> str | None:
        """The secret to store ("" to remove it); None to keep what is stored."""
        if spec.secret_env is None:
            return ""
        value = self.environ.get(spec.secret_env)
        if value is not None:
            return value
        if row is not None and row.secret_sealed:
            self.result.notes.append(
                f"monitor {spec.name}: {spec.secret_env} is not set; its stored secret is kept"
            )
            return None
        self.problems.append(
            Problem(
                spec.line,
                f"monitor {spec.name}: the environment variable "
                f"{spec.secret_env} (its secret) is not set",
            )
        )
        return None

    def ping_token(self, spec: MonitorSpec, row: Monitor | None) -> str | None:
        if spec.kind != Monitor.Kind.HEARTBEAT or spec.ping_token_env is None:
            return None
        value = self.environ.get(spec.ping_token_env, "").strip()
        if value:
            if len(value) < 16:
                self.problems.append(
                    Problem(
                        spec.line,
                        f"monitor {spec.name}: {spec.ping_token_env} is shorter "
                        "than 16 characters; a ping token must be hard to guess",
                    )
                )
            return value
        if row is None or not row.ping_token_hash:
            self.result.notes.append(
                f"monitor {spec.name}: {spec.ping_token_env} is not set; a new ping URL is made"
            )
        return None

    def save_monitor(
        self,
        spec: MonitorSpec,
        row: Monitor | None,
        wanted: dict[str, Any],
        secret: str | None,
        token: str | None,
    ) -> None:
        monitor = row or Monitor(name=spec.name)
        for key in (
            "kind",
            "target",
            "interval_s",
            "timeout_s",
            "retries",
            "fail_threshold",
            "recover_threshold",
            "enabled",
            "options",
        ):
            setattr(monitor, key, wanted[key])
        monitor.component = (
            Component.objects.filter(slug=spec.component).first() if spec.component else None
        )
        monitor.source = CONFIG
        if secret is not None:
            monitor.secret_sealed = secrets.seal(secret)
        if token is not None:
            monitor.ping_token_hash = heartbeat.hash_token(token)
        elif spec.kind == Monitor.Kind.HEARTBEAT and not monitor.ping_token_hash:
            made = heartbeat.set_token(monitor)
            self.result.notes.append(f"monitor {spec.name}: ping URL {heartbeat.ping_url(made)}")
        monitor.save()

    # Maintenance windows.

    def window(self, spec: WindowSpec) -> None:
        rows = MaintenanceWindow.objects.filter(title=spec.title)
        row = rows.filter(source=CONFIG).first() or rows.first()
        wanted: dict[str, Any] = {
            "starts_at": spec.starts_at,
            "ends_at": spec.ends_at,
            "announce": spec.announce,
            "monitors": sorted(spec.monitors),
            "components": sorted(spec.components),
        }
        current = _attrs(row, {"starts_at": 0, "ends_at": 0, "announce": 0})
        if row is not None:
            current["monitors"] = sorted(row.monitors.values_list("name", flat=True))
            current["components"] = sorted(row.components.values_list("slug", flat=True))

        def run() -> None:
            window = row or MaintenanceWindow(title=spec.title)
            window.starts_at, window.ends_at = spec.starts_at, spec.ends_at
            window.announce, window.source = spec.announce, CONFIG
            window.save()
            window.monitors.set(Monitor.objects.filter(name__in=spec.monitors))
            window.components.set(Component.objects.filter(slug__in=spec.components))

        self.compare("maintenance", spec.title, row, wanted, current, run)

    # Runbooks.

    def runbook(self, spec: RunbookSpec) -> None:
        row = Runbook.objects.filter(name=spec.name).first()
        wanted = {
            "description": spec.description,
            "trigger": spec.trigger,
            "steps": spec.steps,
            "enabled": spec.enabled,
        }
        current = _attrs(row, wanted)

        def run() -> None:
            Runbook.objects.update_or_create(
                name=spec.name, defaults={**wanted, "source": Runbook.Source.CONFIG}
            )

        self.compare("runbook", spec.name, row, wanted, current, run)

    # What the file no longer lists.

    def removed(self) -> None:
        kept = {
            "monitor": (Monitor.objects, "name", {m.name for m in self.config.monitors}),
            "maintenance": (
                MaintenanceWindow.objects,
                "title",
                {w.title for w in self.config.windows},
            ),
            "runbook": (Runbook.objects, "name", {r.name for r in self.config.runbooks}),
        }
        for what, (rows, key, listed) in kept.items():
            gone = rows.filter(source=CONFIG).exclude(**{f"{key}__in": listed})
            for row in gone:
                name = getattr(row, key)
                if self.prune:
                    self.add(Change("delete", what, name, run=_deleter(row)))
                else:
                    self.result.notes.append(
                        f"{what} {name} is no longer in the file (kept; --prune deletes it)"
                    )


def _deleter(row: Any) -> Callable[[], None]:
    def run() -> None:
        row.delete()

    return run


def _attrs(row: Any, keys: Mapping[str, Any]) -> dict[str, Any]:
    return {key: getattr(row, key) for key in keys} if row is not None else {}


# Export.


def export(now: datetime | None = None) -> str:
    """The database as a config file (secrets as ${VARIABLES}); applying it changes nothing."""
    now = now or clock.now()
    data: dict[str, Any] = {
        "components": [_component(c) for c in Component.objects.order_by("position", "name")],
        "monitors": [export_monitor(m) for m in Monitor.objects.select_related("component")],
        "maintenance": [
            _window(w)
            for w in MaintenanceWindow.objects.filter(ends_at__gt=now)
            .prefetch_related("monitors", "components")
            .order_by("starts_at", "pk")
        ],
        "runbooks": [_runbook(r) for r in Runbook.objects.order_by("name")],
    }
    head = (
        f"# FounderOps monitors, exported {now:%Y-%m-%d %H:%M} UTC.\n"
        "# Secrets are ${VARIABLES}, read from the environment when the file is applied.\n"
    )
    body = yaml.safe_dump(
        {key: value for key, value in data.items() if value},
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    return head + (body if body.strip() != "{}" else "monitors: []\n")


def _component(row: Component) -> dict[str, Any]:
    out: dict[str, Any] = {"name": row.name, "slug": row.slug}
    if row.description:
        out["description"] = row.description
    return out | {"critical": row.critical, "public": row.public}


def export_monitor(row: Monitor) -> dict[str, Any]:
    out: dict[str, Any] = {"name": row.name, "kind": row.kind}
    if row.target:
        out["target"] = row.target
    out |= {
        "interval": format_duration(row.interval_s),
        "timeout": format_duration(row.timeout_s),
        "retries": row.retries,
        "fail_threshold": row.fail_threshold,
        "recover_threshold": row.recover_threshold,
    }
    if row.component is not None:
        out["component"] = row.component.slug
    out["enabled"] = row.enabled
    options = dict(row.options or {})
    secret_env = options.pop("_secret_env", None) or default_env(row.name, "SECRET")
    token_env = options.pop("_ping_token_env", None) or default_env(row.name, "PING_TOKEN")
    if row.secret_sealed:
        out["secret"] = f"${{{secret_env}}}"
    if row.kind == Monitor.Kind.HEARTBEAT and row.ping_token_hash:
        out["ping_token"] = f"${{{token_env}}}"
    shown = _options_out(row.kind, options)
    if shown:
        out["options"] = shown
    return out


def _options_out(kind: str, options: dict[str, Any]) -> dict[str, Any]:
    shown = {key: value for key, value in options.items() if not key.startswith("_")}
    if kind != Monitor.Kind.HEARTBEAT:
        return shown
    for key in HEARTBEAT_DURATIONS:
        if f"{key}_s" in shown:
            shown[key] = format_duration(float(shown.pop(f"{key}_s")))
    return shown


def _window(row: MaintenanceWindow) -> dict[str, Any]:
    return {
        "title": row.title,
        "starts": row.starts_at.astimezone(UTC).isoformat(),
        "ends": row.ends_at.astimezone(UTC).isoformat(),
        "monitors": sorted(m.name for m in row.monitors.all()),
        "components": sorted(c.slug for c in row.components.all()),
        "announce": row.announce,
    }


def _runbook(row: Runbook) -> dict[str, Any]:
    out: dict[str, Any] = {"name": row.name}
    if row.description:
        out["description"] = row.description
    return out | {"trigger": row.trigger, "steps": row.steps, "enabled": row.enabled}


# The cockpit's form (monitors made there; its validation is this module's).


RESERVED_NAMES = {"new", "maintenance", "export.yaml"}


def save_ui_monitor(
    spec: MonitorSpec, row: Monitor | None, secret: str, actor: str
) -> tuple[Monitor, str]:
    """Create or edit a cockpit monitor; returns it and a new ping token ("" when none)."""
    if row is not None and row.source == CONFIG:
        raise InvalidInput(f"{row.name} is {MANAGED_NOTE}: edit it there")
    if spec.name in RESERVED_NAMES:
        raise InvalidInput(f"{spec.name!r} is a word the cockpit's addresses use; pick another")
    clash = Monitor.objects.filter(name=spec.name)
    if row is not None:
        clash = clash.exclude(pk=row.pk)
    if clash.exists():
        raise InvalidInput(f"a monitor named {spec.name!r} exists already")
    monitor = row or Monitor(source=Monitor.Source.UI)
    monitor.name, monitor.kind, monitor.target = spec.name, spec.kind, spec.target
    monitor.interval_s, monitor.timeout_s, monitor.retries = (
        spec.interval_s,
        spec.timeout_s,
        spec.retries,
    )
    monitor.fail_threshold, monitor.recover_threshold = spec.fail_threshold, spec.recover_threshold
    kept = {k: v for k, v in (monitor.options or {}).items() if k.startswith("_")}
    monitor.options = {**spec.options, **kept}
    monitor.component = Component.objects.filter(slug=spec.component).first()
    if secret:
        monitor.secret_sealed = secrets.seal(secret)
    token = ""
    if monitor.kind == Monitor.Kind.HEARTBEAT and not monitor.ping_token_hash:
        token = heartbeat.set_token(monitor)
    with transaction.atomic():
        monitor.save()
        audit.record(
            actor,
            "monitoring.monitor_saved",
            ("monitor", monitor.pk),
            details={"created": row is None, "kind": monitor.kind},
        )
    return monitor, token


# At start.


def sync_from_file(environ: Mapping[str, str] | None = None) -> Plan | None:
    """Apply FOUNDEROPS_MONITOR_CONFIG if it changed since it was last applied (None: it did
    not, or none is set). Cheap when nothing changed: a file read and one query."""
    path = settings.MONITOR_CONFIG
    if not path:
        return None
    # The file names its own variables, so they cannot be settings read in advance.
    environ = os.environ if environ is None else environ
    config = load(path)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ConfigInvalid(path, [Problem(0, f"cannot read the file: {error.strerror}")]) from None
    digest = fingerprint(data, config, environ)
    last = (
        AuditEvent.objects.filter(action=APPLIED)
        .order_by("-id")
        .values_list("details", flat=True)
        .first()
    )
    if isinstance(last, dict) and last.get("digest") == digest:
        return None
    return apply(config, environ, prune=True, actor="system", digest=digest)


def sync_and_say(say: Callable[[str], object]) -> None:
    """`sync_from_file` for a start: say what changed, or why the file was not applied (the
    app still starts, with the monitors as they were: a typo must not stop the support desk)."""
    try:
        result = sync_from_file()
    except ConfigInvalid as error:
        say(f"{settings.MONITOR_CONFIG} was not applied:")
        for line in error.lines():
            say(f"  {line}")
        return
    if result is not None:
        say(f"Monitors config applied: {result.summary()}")
        for note in result.notes:
            say(f"  note: {note}")


def fingerprint(data: bytes, config: Config, environ: Mapping[str, str]) -> str:
    """The file and the secrets it names, keyed: a rotated secret applies again, and the
    audit trail holds nothing a secret could be guessed from."""
    names = sorted(
        {m.secret_env for m in config.monitors if m.secret_env}
        | {m.ping_token_env for m in config.monitors if m.ping_token_env}
    )
    material = data + b"\0" + "\0".join(f"{n}={environ.get(n, '')}" for n in names).encode()
    return hmac.new(settings.SECRET_KEY.encode(), material, hashlib.sha256).hexdigest()
