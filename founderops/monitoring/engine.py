"""The check engine: one asyncio loop runs every enabled monitor on its interval.

- Schedule: a heap of (due, monitor) on the loop's monotonic clock, so a wall-clock jump never
  bunches or skips checks. First runs are spread over each monitor's interval by a fixed
  phase per monitor (its id times the golden ratio), so 1,000 monitors never fire in the same
  second and a restart keeps the same rhythm.
- Concurrency: due checks run as tasks under a semaphore (FOUNDEROPS_MONITOR_CONCURRENCY).
  A run retries a DOWN result `Monitor.retries` times with a short backoff before it counts.
- Confirming a failure (Uptime Kuma's "heartbeat retry interval"): while a monitor is
  *pending* (1 to fail_threshold - 1 bad runs in a row), its next run comes after the retry
  interval (option `retry_interval`, default max(2 s, interval / 3)) instead of the interval,
  and never sooner than 0.6 of it after the previous run ended. So 3 failures confirm an
  outage in about interval + 2 retries, and a blip can make 3 failures in a row only if it
  lasts at least 1.6 retry intervals (3.2 s at the floor): the second check that sees it
  starts 0.6 retry after the first one ended (which was inside the blip or after it began),
  the third a whole retry after the second began.
  Confirmed outages and recoveries go back to the interval. Slowness is judged in the
  database thread; its verdict (the monitor's run of failures) comes back with each flush
  and moves the next run forward the same way.
- The database: Django's ORM is synchronous, so all of it runs on one thread of its own, in
  batches: results are buffered and written every `flush_every` seconds in one transaction
  (services.record_results), never one query per check. One thread keeps SQLite's single
  writer happy and holds one connection.
- Changes: every `reload_every` seconds a cheap aggregate (count, max id, max updated_at)
  tells whether monitors changed; only then are they reloaded. The same poll picks up
  monitors whose stored next check moved into the past (`check_now`, a heartbeat ping).
- Failure: a check that raises is logged and recorded as DOWN "check crashed: …"; a batch
  that cannot be written is kept and retried (bounded). Neither stops the loop.
- Stop: `stop()` (SIGTERM/SIGINT in `founderops monitor run`) lets running checks finish for
  a few seconds, writes what is buffered and closes the database connection.

Callable from Python for tests and the outage bench: `Engine(now=...).run_for(seconds)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import signal
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django import db
from django.conf import settings
from django.db.models import Count, Max

from founderops.core import clock
from founderops.monitoring import checks, metrics, services
from founderops.monitoring.models import Monitor
from founderops.monitoring.probes import DEGRADED, DOWN, ProbeResult

logger = logging.getLogger(__name__)

T = TypeVar("T")
CheckFn = Callable[[Monitor, checks.Context, datetime], Awaitable[ProbeResult]]
GOLDEN = 0.618_033_988_749_895
RETRY_BACKOFF_S = (0.5, 1.0, 2.0, 4.0)
MIN_RETRY_INTERVAL_S = 2.0
# A retry starts at least this share of the retry interval after the previous run ended.
RETRY_GAP = 0.6
MAX_BUFFERED = 50_000
DRAIN_S = 5.0


@dataclass
class Stats:
    """What a run did, for the bench and the tests."""

    checks: int = 0
    crashes: int = 0
    written: int = 0
    batches: int = 0
    failed_batches: int = 0
    reloads: int = 0
    db_seconds: float = 0.0
    fired: int = 0
    cleared: int = 0
    # Runs planned at the retry interval because their monitor was failing unconfirmed.
    retries_planned: int = 0


@dataclass
class Engine:
    concurrency: int = field(default_factory=lambda: int(settings.MONITOR_CONCURRENCY))
    # The wall clock stamped on results; scheduling uses the loop's monotonic clock.
    now: Callable[[], datetime] = clock.now
    check: CheckFn = checks.run
    flush_every: float = 1.0
    reload_every: float = 3.0
    jitter: bool = True
    # How often due checks are started (a check runs up to this late).
    tick: float = 0.5
    stats: Stats = field(default_factory=Stats)

    def __post_init__(self) -> None:
        self._monitors: dict[int, Monitor] = {}
        self._heap: list[tuple[float, int, int]] = []
        self._generation: dict[int, int] = {}
        self._tickets = itertools.count()
        # The next_check_at values this engine wrote or loaded: any other value in the
        # past was put there by someone asking for a check now.
        self._written: dict[int, deque[datetime | None]] = {}
        self._running: dict[int, asyncio.Task[None]] = {}
        # Per monitor: bad runs in a row as last known (the database's count, bumped by
        # raw bad results until the flush says what the state machine made of them), the
        # last run (started, ended on the loop clock; stamped at) and when it runs next.
        self._failures: dict[int, int] = {}
        self._last: dict[int, tuple[float, float, datetime]] = {}
        self._due: dict[int, float] = {}
        self._buffer: list[services.Run] = []
        self._signature: tuple[Any, ...] | None = None
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="monitor-db")
        self._sem = asyncio.Semaphore(self.concurrency)
        self._stop = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_asked = threading.Event()

    # --- running ---------------------------------------------------------------------

    def run_for(self, seconds: float) -> Stats:
        """Run the loop for `seconds` (then stop cleanly); returns what it did."""

        async def timed() -> None:
            task = asyncio.create_task(self.run())
            await asyncio.sleep(seconds)
            self.stop()
            await task

        asyncio.run(timed())
        return self.stats

    def stop(self) -> None:
        """Ask the loop to stop; safe from any thread and from a signal handler."""
        self._stop_asked.set()
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # not started yet: run() sees the flag and returns at once
        if _running_loop() is loop:
            self._set_stop()
        else:
            loop.call_soon_threadsafe(self._set_stop)

    def _set_stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self._stop_asked.is_set():
            self._set_stop()
        context = checks.Context(run_sync=self._in_db)
        try:
            await self._reload(force=True)
            helpers = [
                asyncio.create_task(self._every(self.flush_every, self._flush)),
                asyncio.create_task(self._every(self.reload_every, self._reload)),
            ]
            await self._schedule_loop(context)
            for helper in helpers:
                helper.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            await self._drain()
        finally:
            await context.aclose()
            await self._flush()
            await self._in_db(metrics.detectors.save_all)
            await self._in_db(db.connections.close_all)
            self._db.shutdown(wait=True)

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT stop the loop (for `founderops monitor run`)."""
        loop = asyncio.get_running_loop()
        for number in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(number, self.stop)

    async def _schedule_loop(self, context: checks.Context) -> None:
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            now = loop.time()
            while self._heap and self._heap[0][0] <= now:
                _due, pk, generation = heapq.heappop(self._heap)
                if self._generation.get(pk) == generation and pk not in self._running:
                    self._start(pk, context)
            # Due checks start together once per tick: their network waits then share the
            # loop's wake-ups, which costs far less CPU than starting each on its own.
            delay = min(1.0, self._heap[0][0] - now) if self._heap else 1.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=max(delay, self.tick))

    async def _every(self, period: float, work: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(period)
            await work()

    async def _drain(self) -> None:
        if not self._running:
            return
        _done, pending = await asyncio.wait(list(self._running.values()), timeout=DRAIN_S)
        for task in pending:
            task.cancel()  # cut short by the stop: not a result
        await asyncio.gather(*pending, return_exceptions=True)

    # --- one check -------------------------------------------------------------------

    def _start(self, pk: int, context: checks.Context) -> None:
        monitor = self._monitors[pk]
        task = asyncio.create_task(self._check(monitor, context), name=f"check {monitor.name}")
        self._running[pk] = task
        task.add_done_callback(lambda _task: self._running.pop(pk, None))

    async def _check(self, monitor: Monitor, context: checks.Context) -> None:
        loop = asyncio.get_running_loop()
        async with self._sem:
            started = loop.time()
            result = await self._attempts(monitor, context)
            at = self.now()
            ended = loop.time()
        self.stats.checks += 1
        pk = monitor.pk
        bad = result.outcome in (DOWN, DEGRADED)
        self._failures[pk] = self._failures.get(pk, 0) + 1 if bad else 0
        self._last[pk] = (started, ended, at)
        due = self._next_due(monitor, started, ended)
        next_at = at + timedelta(seconds=due - ended)
        self._remember(pk, next_at)
        self._buffer.append(services.Run(pk, at, result, next_at))
        if pk in self._monitors:
            self._plan(pk, due)

    def _next_due(self, monitor: Monitor, started: float, ended: float) -> float:
        if pending(self._failures.get(monitor.pk, 0), monitor.fail_threshold):
            self.stats.retries_planned += 1
            return retry_due(started, ended, retry_interval(monitor))
        return max(started + monitor.interval_s, ended)

    def _verdicts(self, failures: dict[int, tuple[datetime, int]]) -> None:
        """What the state machine made of the runs just written: a run it judged bad
        (slow) that the check called good starts the retries too."""
        for pk, (at, count) in failures.items():
            last = self._last.get(pk)
            monitor = self._monitors.get(pk)
            if last is None or monitor is None or last[2] != at:
                continue  # a newer run is under way or buffered: its own verdict follows
            self._failures[pk] = count
            if pk in self._running or not pending(count, monitor.fail_threshold):
                continue
            due = retry_due(last[0], last[1], retry_interval(monitor))
            if due < self._due.get(pk, due + 1):
                self.stats.retries_planned += 1
                self._plan(pk, due)

    async def _attempts(self, monitor: Monitor, context: checks.Context) -> ProbeResult:
        result = await self._guarded(monitor, context)
        for attempt in range(monitor.retries):
            if result.outcome != DOWN:
                break
            await asyncio.sleep(RETRY_BACKOFF_S[min(attempt, len(RETRY_BACKOFF_S) - 1)])
            result = await self._guarded(monitor, context)
            result = replace(result, detail={**result.detail, "attempts": attempt + 2})
        return result

    async def _guarded(self, monitor: Monitor, context: checks.Context) -> ProbeResult:
        try:
            return await self.check(monitor, context, self.now())
        except Exception as error:
            # A bug in one check must not stop the others: logged with its traceback and
            # recorded as what it is.
            logger.exception("monitor %s: the check crashed", monitor.name)
            self.stats.crashes += 1
            return checks.down(f"check crashed: {error!r}", cause="crash", hard=False)

    # --- the database ----------------------------------------------------------------

    async def _in_db(self, work: Callable[[], T]) -> T:
        def guarded() -> T:
            # A long-lived thread: drop a connection the server closed before using it.
            db.close_old_connections()
            return work()

        return await asyncio.get_running_loop().run_in_executor(self._db, guarded)

    async def _flush(self) -> None:
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        started = time.perf_counter()
        try:
            actions = await self._in_db(lambda: services.record_results(batch))
        except Exception:
            # The database is away or locked: keep the batch for the next flush (bounded,
            # oldest dropped first) rather than lose the runs or stop checking.
            logger.exception("could not write %d check results; will retry", len(batch))
            self.stats.failed_batches += 1
            self._buffer = (batch + self._buffer)[-MAX_BUFFERED:]
            return
        self.stats.db_seconds += time.perf_counter() - started
        self.stats.batches += 1
        self.stats.written += len(batch)
        self.stats.fired += len(actions.fire)
        self.stats.cleared += len(actions.clear)
        self._verdicts(actions.failures)

    async def _reload(self, force: bool = False) -> None:
        try:
            signature, monitors, due = await self._in_db(
                lambda: _load(self._signature, force, self.now())
            )
        except Exception:
            logger.exception("could not reload the monitors; keeping the ones loaded")
            return
        if monitors is not None:
            self._apply(monitors)
            self._signature = signature
            self.stats.reloads += 1
        self._requested(due)

    def _apply(self, monitors: list[Monitor]) -> None:
        loop_now = asyncio.get_running_loop().time()
        fresh = {m.pk: m for m in monitors}
        for pk in set(self._monitors) - set(fresh):
            self._generation.pop(pk, None)  # removed or disabled: its heap entry is dead
            self._monitors.pop(pk)
            for known in (self._failures, self._last, self._due):
                known.pop(pk, None)
        for pk, monitor in fresh.items():
            old = self._monitors.get(pk)
            self._monitors[pk] = monitor
            if old is None:
                self._failures[pk] = monitor.consecutive_failures
                self._remember(pk, monitor.next_check_at)
                self._plan(pk, loop_now + self._first_delay(monitor))
            elif old.interval_s != monitor.interval_s or old.kind != monitor.kind:
                self._plan(pk, loop_now + min(monitor.interval_s, self._first_delay(monitor)))

    def _first_delay(self, monitor: Monitor) -> float:
        if not self.jitter:
            return 0.0
        return (monitor.pk * GOLDEN) % 1.0 * monitor.interval_s

    def _requested(self, due: list[tuple[int, datetime]]) -> None:
        loop_now = asyncio.get_running_loop().time()
        for pk, stored in due:
            known = self._written.get(pk, ())
            if pk in self._monitors and pk not in self._running and stored not in known:
                self._remember(pk, stored)
                self._plan(pk, loop_now)

    def _remember(self, pk: int, next_check_at: datetime | None) -> None:
        self._written.setdefault(pk, deque(maxlen=4)).append(next_check_at)

    def _plan(self, pk: int, due: float) -> None:
        generation = next(self._tickets)
        self._generation[pk] = generation
        self._due[pk] = due
        heapq.heappush(self._heap, (due, pk, generation))


def pending(failures: int, fail_threshold: int) -> bool:
    """Failing but not yet confirmed: the next run comes at the retry interval."""
    return 0 < failures < fail_threshold


def retry_interval(monitor: Monitor) -> float:
    """The monitor's `retry_interval` option (seconds, at least 1), else max(2 s, interval / 3);
    never longer than the interval."""
    value = monitor.options.get("retry_interval")
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 1:
        value = max(MIN_RETRY_INTERVAL_S, monitor.interval_s / 3)
    return float(min(value, monitor.interval_s))


def retry_due(started: float, ended: float, retry: float) -> float:
    """When a retry of a run that began at `started` and ended at `ended` may start: a retry
    interval after the start, and 0.6 of one after the end. The gap after the end is what
    bounds a blip: a check that is still waiting when a blip begins (a slow answer, a
    timeout) cannot have its retry start at once, inside the same blip."""
    return max(started + retry, ended + RETRY_GAP * retry)


def _load(
    signature: tuple[Any, ...] | None, force: bool, now: datetime
) -> tuple[tuple[Any, ...], list[Monitor] | None, list[tuple[int, datetime]]]:
    """The monitors when they changed (else None), and those asked to run now."""
    summary = Monitor.objects.aggregate(count=Count("id"), top=Max("id"), changed=Max("updated_at"))
    current = (summary["count"], summary["top"], summary["changed"])
    monitors = None
    if force or current != signature:
        monitors = list(Monitor.objects.filter(enabled=True).select_related("component"))
    return current, monitors, services.due_now(now)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class EngineThread:
    """The engine on a thread of its own, for `founderops up`."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine or Engine()
        self._thread = threading.Thread(target=self._main, name="monitoring", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = DRAIN_S + 5) -> None:
        self.engine.stop()
        self._thread.join(timeout=timeout)

    def _main(self) -> None:
        asyncio.run(self.engine.run())
