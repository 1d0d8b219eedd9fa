"""`founderops bench monitoring`: the outage harness.

Two phases, on an empty database, against local targets (`outage_targets`) that run in their
own process so that their CPU is not counted as the engine's:

A. **Detection.** K targets per fault (refuse, HTTP 500, hang, keyword lost, expired
   certificate, 30 % and 200 % slower), each watched by one HTTP monitor at a 10 s interval,
   each its own component (so that correlation does not fold unrelated faults into one
   incident). After a warm-up (the engine learns normal latency), each fault starts at a random
   time and lasts long enough to be detected, then the target recovers. Other targets suffer
   1-3 s blips (refused, 500, hung), which must not page; a few stay healthy throughout. The
   engine runs in this process (`Engine.run_for`). Time to detect is the incident's
   `detected_at` minus the moment the targets really switched the fault on (their own log).
   Every incident not explained by an injected fault is a false page.
B. **Load.** N monitors (1,000 by default) at a 20 s interval against healthy targets for T
   seconds: CPU of this process (the engine) as a share of one core, peak memory, checks
   run per second against the schedule's due rate, and the `/monitors/` page p50/p95 from a
   real `founderops web` process while the load runs.

The seed is printed; the same seed plans the same faults at the same offsets.
"""

from __future__ import annotations

import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
from django.conf import settings
from django.db import connections
from django.urls import NoReverseMatch, reverse

from founderops.cli import evaluation, web_bench
from founderops.cli.outage_targets import (
    FAULTS,
    HARD_FAULTS,
    KEYWORD,
    Applied,
    Fault,
    Targets,
    TargetSpec,
    running,
)
from founderops.core import clock
from founderops.core.models import Notification
from founderops.incidents.models import Component, Incident
from founderops.monitoring.engine import Engine
from founderops.monitoring.models import CheckResult, Monitor

BLIP_FAULTS = ("refuse", "error500", "hang")
# The priority each fault should earn (issue 4's P-levels): hard failures P0 or P1.
EXPECTED_PRIORITY = {kind: ("P0", "P1") for kind in HARD_FAULTS} | {
    "slow30": ("P2",),
    "slow200": ("P1",),
}
UI_PROBE_EVERY_S = 2.0
PAGE_WAIT_S = 5.0


@dataclass(frozen=True)
class Scenario:
    """How phase A is shaped; `quick` is a small version for the test suite."""

    per_fault: int = 5
    kinds: tuple[str, ...] = FAULTS
    blip_targets: int = 10
    blips_per_target: int = 2
    healthy: int = 5
    interval_s: int = 10
    timeout_s: float = 5.0
    # The engine needs 5 normal-speed runs before it can call a run slow.
    warmup_s: float = 70.0
    # Fault starts are spread over this window after the warm-up.
    window_s: float = 60.0
    fault_s: float = 60.0
    # After the last fault ends: time for every target to recover and its alert to clear.
    cooldown_s: float = 30.0
    blip_min_s: float = 1.0
    blip_max_s: float = 3.0

    @property
    def seconds(self) -> float:
        return self.warmup_s + self.window_s + self.fault_s + self.cooldown_s


QUICK = Scenario(
    per_fault=1,
    kinds=("refuse",),
    blip_targets=1,
    blips_per_target=1,
    healthy=1,
    interval_s=2,
    timeout_s=1.0,
    warmup_s=4.0,
    window_s=1.0,
    fault_s=12.0,
    cooldown_s=6.0,
    blip_min_s=1.0,
    blip_max_s=1.0,
)


@dataclass(frozen=True)
class Plan:
    seed: int
    scenario: Scenario
    specs: list[TargetSpec]
    # target name -> the fault it suffers, "blip", or "healthy"
    roles: dict[str, str]
    faults: list[Fault]
    blips: list[Fault]


def plan(seed: int, scenario: Scenario) -> Plan:
    """Targets and a fault schedule drawn from `seed`."""
    rng = random.Random(seed)
    specs: list[TargetSpec] = []
    roles: dict[str, str] = {}
    faults: list[Fault] = []
    for kind in scenario.kinds:
        for n in range(scenario.per_fault):
            name = f"{kind}-{n}"
            specs.append(_spec(name, rng, tls=kind == "expired"))
            roles[name] = kind
            at = scenario.warmup_s + rng.uniform(0, scenario.window_s)
            faults.append(Fault(name, kind, round(at, 3), scenario.fault_s))
    blips = []
    for n in range(scenario.blip_targets):
        name = f"blip-{n}"
        specs.append(_spec(name, rng))
        roles[name] = "blip"
        blips += _blips(name, rng, scenario)
    for n in range(scenario.healthy):
        name = f"healthy-{n}"
        specs.append(_spec(name, rng, tls=n % 2 == 1))
        roles[name] = "healthy"
    return Plan(seed, scenario, specs, roles, faults, blips)


def _spec(name: str, rng: random.Random, tls: bool = False) -> TargetSpec:
    # 50-100 ms: long enough that a 30 % slowdown stands out of loopback noise.
    return TargetSpec(name, latency_ms=round(rng.uniform(50, 100), 1), tls=tls, own_port=True)


def _blips(name: str, rng: random.Random, scenario: Scenario) -> list[Fault]:
    """Blips at least two intervals apart: one blip can fail at most one check in a row."""
    span = scenario.seconds - scenario.cooldown_s - scenario.warmup_s
    slot = span / scenario.blips_per_target
    found = []
    for n in range(scenario.blips_per_target):
        length = rng.uniform(scenario.blip_min_s, scenario.blip_max_s)
        at = scenario.warmup_s + n * slot + rng.uniform(0, max(slot - length, 0))
        found.append(Fault(name, rng.choice(BLIP_FAULTS), round(at, 3), round(length, 3)))
    return found


# --- the monitors ----------------------------------------------------------------------------


def create_monitors(
    targets: Targets, specs: Sequence[TargetSpec], interval_s: int, timeout_s: float
) -> list[Monitor]:
    """One HTTP monitor and one component per target (the component is what correlates)."""
    made = []
    for spec in specs:
        component = Component.objects.create(name=spec.name, slug=spec.name)
        options: dict[str, Any] = {"keyword": KEYWORD}
        if spec.tls:
            options["ca_file"] = str(targets.certs.ca)
        made.append(
            Monitor(
                name=spec.name,
                kind=Monitor.Kind.HTTP,
                target=targets.url(spec.name, spec.tls),
                options=options,
                component=component,
                interval_s=interval_s,
                timeout_s=timeout_s,
            )
        )
    return Monitor.objects.bulk_create(made, batch_size=500)


def run_engine(seconds: float) -> None:
    """The production engine, in this process, for `seconds` of wall time."""
    # Forked or threaded parts must not share this thread's database connection.
    connections.close_all()
    Engine().run_for(seconds)


@contextmanager
def worker() -> Iterator[None]:
    """`founderops worker` in its own process: it runs the Monitoring Agent's job (which
    pages) and the incidents' tick, as in production. Inline jobs would page from inside the
    engine's database thread instead, which production never does."""
    if settings.Q_CLUSTER.get("sync"):
        yield
        return
    command = [sys.executable, "-m", "founderops.cli.main", "worker"]
    connections.close_all()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and command
        command, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


# --- phase A: detection ------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """One incident as the bench scores it."""

    pk: int
    targets: tuple[str, ...]
    detected_at: datetime
    priority: str
    notifications: int
    pages: int


@dataclass
class Detection:
    ttd_s: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    priorities: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    missed: Counter[str] = field(default_factory=Counter)
    right_priority: int = 0
    detected: int = 0
    false_pages: list[Seen] = field(default_factory=list)
    incidents: list[Seen] = field(default_factory=list)
    blips: int = 0


def detect(plan_: Plan, engine: Callable[[float], None] = run_engine) -> tuple[Detection, float]:
    """Phase A: run the scenario; its score and the monitor-hours it covered."""
    scenario = plan_.scenario
    with tempfile.TemporaryDirectory() as directory, running(plan_.specs, Path(directory)) as t:
        create_monitors(t, plan_.specs, scenario.interval_s, scenario.timeout_s)
        with worker():
            t.schedule(time.time(), plan_.faults + plan_.blips)
            engine(scenario.seconds)
            # The last incidents' agent jobs: give the worker time to page them.
            time.sleep(PAGE_WAIT_S)
        applied = t.log()
        # The targets go away with this block: their monitors must not page for it.
        Monitor.objects.filter(name__in=plan_.roles).update(enabled=False)
    hours = len(plan_.specs) * scenario.seconds / 3600
    return score(plan_, applied, seen_incidents(), scenario), hours


def seen_incidents() -> list[Seen]:
    found = []
    for incident in Incident.objects.prefetch_related("components").order_by("detected_at"):
        keys = Notification.objects.filter(key__startswith=f"incident:{incident.pk}:")
        found.append(
            Seen(
                pk=incident.pk,
                targets=tuple(sorted(c.slug for c in incident.components.all())),
                detected_at=incident.detected_at,
                priority=incident.priority,
                notifications=keys.count(),
                pages=keys.filter(key__endswith=":page").count(),
            )
        )
    return found


def score(plan_: Plan, applied: Sequence[Applied], seen: Sequence[Seen], s: Scenario) -> Detection:
    """Match incidents to injected faults: the first incident of a target inside its fault
    (or shortly after it ended) detects it; every other incident is a false page."""
    windows = _windows(plan_, applied)
    # A detection may land just after the fault ended: its last failing checks were in it.
    grace = timedelta(seconds=s.interval_s + s.timeout_s)
    result = Detection(incidents=list(seen), blips=len(plan_.blips))
    claimed: set[str] = set()
    for incident in seen:
        target = _explained_by(incident, windows, claimed, grace)
        if target is None:
            result.false_pages.append(incident)
            continue
        claimed.add(target)
        kind, began, _ = windows[target]
        result.ttd_s[kind].append((incident.detected_at - began).total_seconds())
        result.priorities[kind][incident.priority] += 1
        result.detected += 1
        result.right_priority += incident.priority in EXPECTED_PRIORITY[kind]
    for target, (kind, _, _) in windows.items():
        if target not in claimed:
            result.missed[kind] += 1
    return result


def _windows(plan_: Plan, applied: Sequence[Applied]) -> dict[str, tuple[str, datetime, datetime]]:
    """target -> (fault, when it really began, when it really ended) for injected faults."""
    faulted = {f.target for f in plan_.faults}
    began: dict[str, datetime] = {}
    ended: dict[str, datetime] = {}
    for event in applied:
        if event.target in faulted:
            (began if event.on else ended).setdefault(event.target, event.at)
    far = clock.now() + timedelta(days=1)
    return {
        target: (plan_.roles[target], began[target], ended.get(target, far))
        for target in faulted
        if target in began
    }


def _explained_by(
    incident: Seen,
    windows: dict[str, tuple[str, datetime, datetime]],
    claimed: set[str],
    grace: timedelta,
) -> str | None:
    for target in incident.targets:
        if target in claimed or target not in windows:
            continue
        _, began, ended = windows[target]
        if began <= incident.detected_at <= ended + grace:
            return target
    return None


# --- phase B: load ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    monitors: int
    seconds: float
    cpu_percent_of_one_core: float
    # The same from one interval after the start to a second before the stop: without the
    # first runs (1,000 new metric series and detectors) and the shutdown (their states
    # saved), which a long-running engine pays once, not every 20 s.
    steady_cpu_percent_of_one_core: float | None
    peak_rss_mb: float
    checks: int
    # Runs judged bad although every target was healthy: the engine's own noise.
    bad_checks: int
    checks_due: int
    ui_ms: list[float]
    ui_errors: int
    incidents: int


def load(monitors: int, seconds: float, interval_s: int = 20, timeout_s: float = 10.0) -> Load:
    """Phase B: N healthy monitors for `seconds`, the engine's cost and the UI's speed."""
    rng = random.Random(monitors)
    # Shared ports (by path): 1,000 monitors need no 1,000 listening sockets.
    specs = [
        TargetSpec(f"load-{n}", latency_ms=round(rng.uniform(50, 100), 1)) for n in range(monitors)
    ]
    with tempfile.TemporaryDirectory() as directory, running(specs, Path(directory)) as t:
        create_monitors(t, specs, interval_s, timeout_s)
        start = clock.now()
        session = web_bench.sign_in(1)[0]
        connections.close_all()
        with web_bench.server(threads=4) as base, _ui_probe(base, session) as probe:
            steady = _Steady(start_after=interval_s + 2.0, stop_before=seconds - 1.0)
            cpu, wall = _cpu_while(lambda: run_engine(seconds), steady)
        checks = CheckResult.objects.filter(at__gte=start, monitor__name__startswith="load-")
        opened = Incident.objects.filter(components__slug__startswith="load-").distinct()
    return Load(
        monitors=monitors,
        seconds=round(wall, 1),
        cpu_percent_of_one_core=round(100 * cpu / wall, 1),
        steady_cpu_percent_of_one_core=steady.percent(),
        peak_rss_mb=round(max(probe.rss, _rss()) / 2**20, 1),
        checks=checks.count(),
        bad_checks=checks.exclude(outcome=CheckResult.Outcome.UP).count(),
        checks_due=round(monitors * wall / interval_s),
        ui_ms=probe.ms,
        ui_errors=probe.errors,
        incidents=opened.count(),
    )


def _cpu_while(work: Callable[[], None], steady: _Steady | None = None) -> tuple[float, float]:
    """CPU seconds (user + system, every thread of this process) and wall seconds of `work`;
    `steady` samples a window inside it."""
    me = psutil.Process()
    cpu_before, wall_before = me.cpu_times(), time.perf_counter()
    marker = threading.Thread(target=steady.run, daemon=True) if steady else None
    if marker is not None:
        marker.start()
    work()
    cpu_after, wall = me.cpu_times(), time.perf_counter() - wall_before
    used = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    return used, wall


@dataclass
class _Steady:
    start_after: float
    stop_before: float
    marks: list[tuple[float, float]] = field(default_factory=list)

    def run(self) -> None:
        time.sleep(self.start_after)
        self._mark()
        time.sleep(max(0.0, self.stop_before - self.start_after))
        self._mark()

    def _mark(self) -> None:
        times = psutil.Process().cpu_times()
        self.marks.append((times.user + times.system, time.perf_counter()))

    def percent(self) -> float | None:
        """None when the run was too short to have a steady part."""
        if len(self.marks) < 2 or self.stop_before <= self.start_after:
            return None
        (cpu0, wall0), (cpu1, wall1) = self.marks
        return round(100 * (cpu1 - cpu0) / (wall1 - wall0), 1)


def _rss() -> int:
    return int(psutil.Process().memory_info().rss)


@dataclass
class _Probe:
    ms: list[float] = field(default_factory=list)
    errors: int = 0
    rss: int = 0


@contextmanager
def _ui_probe(base: str, session: str) -> Iterator[_Probe]:
    """Load `/monitors/` every 2 s as the founder would, and sample this process's memory."""
    probe, stop = _Probe(), threading.Event()
    path = _monitors_path()
    web_bench.quiet_http_logs()

    def run() -> None:
        cookies = {settings.SESSION_COOKIE_NAME: session}
        with httpx.Client(base_url=base, cookies=cookies, timeout=30) as client:
            while not stop.wait(UI_PROBE_EVERY_S):
                probe.rss = max(probe.rss, _rss())
                began = time.perf_counter()
                response = client.get(path)
                probe.ms.append((time.perf_counter() - began) * 1000)
                probe.errors += response.status_code != 200

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    try:
        yield probe
    finally:
        stop.set()
        worker.join(timeout=60)


def _monitors_path() -> str:
    try:
        return reverse("web:monitors")
    except NoReverseMatch:
        return "/monitors/"


# --- the report ------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    return round(web_bench.percentile(values, q), 1) if values else None


def figures(
    seed: int, detection: Detection, hours: float, loaded: Load | None
) -> dict[str, object]:
    hard = [v for kind, values in detection.ttd_s.items() if kind in HARD_FAULTS for v in values]
    kinds = sorted(set(detection.ttd_s) | set(detection.missed))
    per_fault = {
        kind: {
            "detected": len(detection.ttd_s.get(kind, [])),
            "missed": detection.missed.get(kind, 0),
            "ttd_p50_s": percentile(detection.ttd_s.get(kind, []), 0.5),
            "ttd_p95_s": percentile(detection.ttd_s.get(kind, []), 0.95),
            "priorities": dict(sorted(detection.priorities.get(kind, Counter()).items())),
        }
        for kind in kinds
    }
    real = [i for i in detection.incidents if i not in detection.false_pages]
    false_pages = len(detection.false_pages) + (loaded.incidents if loaded else 0)
    all_hours = hours + (loaded.monitors * loaded.seconds / 3600 if loaded else 0)
    report: dict[str, object] = {
        "seed": seed,
        "incidents": len(detection.incidents),
        "blips": detection.blips,
        "per_fault": per_fault,
        "hard_ttd_p50_s": percentile(hard, 0.5),
        "hard_ttd_p95_s": percentile(hard, 0.95),
        "right_priority": _share(detection.right_priority, detection.detected),
        "false_pages": false_pages,
        "monitor_hours": round(all_hours, 3),
        "false_pages_per_1000_monitor_hours": round(1000 * false_pages / all_hours, 1)
        if all_hours
        else None,
        "notifications_per_incident": _mean(i.notifications for i in real),
        "pages_per_incident": _mean(i.pages for i in real),
    }
    if loaded is not None:
        report["load"] = {
            "monitors": loaded.monitors,
            "seconds": loaded.seconds,
            "cpu_percent_of_one_core": loaded.cpu_percent_of_one_core,
            "steady_cpu_percent_of_one_core": loaded.steady_cpu_percent_of_one_core,
            "peak_rss_mb": loaded.peak_rss_mb,
            "checks": loaded.checks,
            "checks_due": loaded.checks_due,
            "bad_checks": loaded.bad_checks,
            "incidents": loaded.incidents,
            "ui_requests": len(loaded.ui_ms),
            "ui_errors": loaded.ui_errors,
            "ui_p50_ms": percentile(loaded.ui_ms, 0.5),
            "ui_p95_ms": percentile(loaded.ui_ms, 0.95),
        }
    report["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return report


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _mean(values: Iterable[int]) -> float | None:
    listed = list(values)
    return round(statistics.mean(listed), 2) if listed else None


def table(report: dict[str, Any]) -> str:
    """The figures as a few readable lines (the JSON line follows them)."""
    lines = ["fault      detected missed  ttd p50   ttd p95  priorities"]
    for kind, row in report["per_fault"].items():
        levels = ", ".join(f"{n} {level}" for level, n in row["priorities"].items())
        lines.append(
            f"{kind:<10} {row['detected']:>8} {row['missed']:>6} "
            f"{_s(row['ttd_p50_s']):>8} {_s(row['ttd_p95_s']):>9}  {levels}"
        )
    lines += [
        f"hard failures: time to detect p50 {_s(report['hard_ttd_p50_s'])}, "
        f"p95 {_s(report['hard_ttd_p95_s'])}",
        f"right priority: {report['right_priority']}",
        f"false pages: {report['false_pages']} in {report['monitor_hours']} monitor-hours, "
        f"{report['blips']} blips "
        f"({report['false_pages_per_1000_monitor_hours']} per 1,000)",
        f"notifications per incident: {report['notifications_per_incident']} "
        f"(pages {report['pages_per_incident']})",
    ]
    if "load" in report:
        row = report["load"]
        lines += [
            f"load: {row['monitors']} monitors for {row['seconds']} s: "
            f"CPU {row['cpu_percent_of_one_core']} % of one core "
            f"({row['steady_cpu_percent_of_one_core']} % after the first interval), "
            f"peak {row['peak_rss_mb']} MB, "
            f"{row['checks']} checks of {row['checks_due']} due, {row['bad_checks']} judged bad "
            f"(healthy targets), {row['incidents']} incidents",
            f"/monitors/ during load: p50 {row['ui_p50_ms']} ms, p95 {row['ui_p95_ms']} ms "
            f"({row['ui_requests']} requests, {row['ui_errors']} errors)",
        ]
    return "\n".join(lines)


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value} s"


def run(seed: int, scenario: Scenario, monitors: int, load_seconds: float) -> dict[str, object]:
    """Both phases on the configured (empty) database."""
    evaluation.prepare_database()
    planned = plan(seed, scenario)
    detection, hours = detect(planned)
    loaded = load(monitors, load_seconds) if monitors and load_seconds else None
    return figures(seed, detection, hours, loaded)
