"""Streaming anomaly detector for metric series: one point at a time, bounded memory.

For each new value four raw surprises are measured:

- point: |x - mean| / std of the last HISTORY values, a spike;
- level: the same for the mean of the last SHORT values, times sqrt(SHORT), a level shift that
  single points are too noisy to show;
- diff:  how unusual |x - previous x| is against the recent step sizes, a sudden jump in a
  series that otherwise drifts;
- bar:   the mean of the last BAR values against the means of the last BAR_HISTORY completed
  bars of BAR points (their own mean and std), a slower shift. Compared with bars rather than
  points, so a series whose neighbouring points move together (most real metrics) is measured
  against how much its bars really vary, not against the point noise scaled by sqrt(BAR).
  Values enter a bar clipped to BAR_CLIP stds of the last HISTORY: a lone spike is the point
  stream's to report, and unclipped it would lift the bar for BAR points after it.

Each surprise is compressed with log1p and turned into an "anomaly likelihood" the way NAB's
Numenta detector does: the mean of its last AVERAGE values is compared with the mean and std of
its last LIKELIHOOD_WINDOW values, and the Gaussian tail probability p of that gives the score
log(p) / log(1e-5) (capped at 1), so the score reads "how many orders of magnitude rarer than
usual is what just happened". A series whose surprise is always high (a noisy metric) thus does
not alarm; one that is usually quiet does on its first jump. The score is the highest of the
four. After a detection (score >= THRESHOLD) the detector stays silent for SUPPRESS points:
one incident is one alert, not a burst.

Given the point's timestamp, a surprise that is usual *for this time of day* does not alert: per
stream the detector remembers the largest surprise of each hour of the day, for today and the
last DAYS days. A stream whose surprise was reached (within a factor RECUR_FACTOR), in this hour
or the ones either side, on at least half of those days is a recurring event (a nightly backup,
a daily batch job), not an anomaly, and its score is left out. Without timestamps the detector
works as before.

All constants are fixed here, once, for every series; nothing is fitted per series beyond the
streaming statistics. `to_state()`/`from_state()` give a JSON-serialisable snapshot so a
restarted process continues exactly where it stopped.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from datetime import datetime
from typing import Any

# A detection is a score >= THRESHOLD: a tail probability below about 10^-2.5 (see module doc).
THRESHOLD = 0.5
HISTORY = 200
SHORT = 5
AVERAGE = 3
LIKELIHOOD_WINDOW = 1000
# The likelihood needs some surprises before its mean and std mean anything.
LIKELIHOOD_MIN = 50
MIN_HISTORY = 10
WARMUP = 100
SUPPRESS = 100
# 48 points: four hours of five-minute points, a day of half-hours. Chosen on the middle of the
# plateau both NAB groups share (bars of 40-64 points, 30-200 bars of history; see
# docs/architecture.md), not on its top.
BAR = 48
BAR_HISTORY = 100
BAR_CLIP = 3.0
# A flat series has std 0: scale by at least this share of its magnitude, not by nothing.
RELATIVE_FLOOR = 1e-4
TAIL_FLOOR = 1e-5
STREAMS = ("point", "level", "diff", "bar")
# Days of hourly surprise maxima remembered; 3 rather than a week so a pattern that changes (a
# job moved to another hour) stops being excused within days.
DAYS = 3
HOURS = 24
# "Usual" means the same order of magnitude: up to RECUR_FACTOR times the remembered surprise
# (compared after log1p, where a factor is an offset).
RECUR_FACTOR = 1.5
NO_SURPRISE = -1.0
# Compressed surprises are kept to 6 decimals: far finer than the likelihood can tell apart
# (the NAB scores are identical) and it keeps the saved state about half the size.
DECIMALS = 6
STATE_VERSION = 3
# Version 1 had no daily memory; version 2 had neither the bar stream nor its memory slots.
OLD_STREAMS = {1: STREAMS[:3], 2: STREAMS[:3]}


class Rolling:
    """Mean and standard deviation of the last `size` numbers in O(1) per value."""

    def __init__(self, size: int, items: Iterable[float] = (), sums: tuple[float, float] = (0, 0)):
        self.size = size
        self.items: deque[float] = deque(items, maxlen=None)
        self.total, self.squares = sums
        self.pushed = 0

    def push(self, x: float) -> None:
        self.items.append(x)
        self.total += x
        self.squares += x * x
        if len(self.items) > self.size:
            old = self.items.popleft()
            self.total -= old
            self.squares -= old * old
        self.pushed += 1
        # Running sums drift with cancellation: recompute them exactly now and then.
        if self.pushed % self.size == 0:
            self.total = math.fsum(self.items)
            self.squares = math.fsum(v * v for v in self.items)

    def mean(self) -> float:
        return self.total / len(self.items)

    def std(self) -> float:
        m = self.mean()
        return math.sqrt(max(self.squares / len(self.items) - m * m, 0.0))

    def __len__(self) -> int:
        return len(self.items)

    def to_state(self) -> dict[str, Any]:
        return {
            "items": list(self.items),
            "total": self.total,
            "squares": self.squares,
            "pushed": self.pushed,
        }

    @classmethod
    def from_state(cls, size: int, state: dict[str, Any]) -> Rolling:
        rolling = cls(size, [float(v) for v in state["items"]], (state["total"], state["squares"]))
        rolling.pushed = int(state["pushed"])
        return rolling


class DailyMemory:
    """Per stream and hour of the day, the largest compressed surprise of today and DAYS days."""

    def __init__(self) -> None:
        self.day: int | None = None
        self.today = self._blank()
        self.past: deque[list[float]] = deque(maxlen=DAYS)

    @staticmethod
    def _blank() -> list[float]:
        return [NO_SURPRISE] * (len(STREAMS) * HOURS)

    def recurring(self, at: datetime, surprises: dict[str, float]) -> set[str]:
        """The streams whose surprise is usual at this hour; then remember these surprises."""
        self._roll(at.toordinal())
        found = set()
        for k, name in enumerate(STREAMS):
            if name not in surprises:
                continue
            surprise = surprises[name]
            excused = surprise - math.log(RECUR_FACTOR)
            slots = [k * HOURS + (at.hour + d) % HOURS for d in (-1, 0, 1)]
            reached = sum(max(day[s] for s in slots) >= excused for day in self.past)
            if self.past and 2 * reached >= len(self.past):
                found.add(name)
            slot = k * HOURS + at.hour
            self.today[slot] = max(self.today[slot], surprise)
        return found

    def _roll(self, day: int) -> None:
        if self.day is None:
            self.day = day
        # An out-of-order timestamp counts in the current day rather than rewriting the past.
        if day <= self.day:
            return
        for _ in range(min(day - self.day, DAYS)):
            # Days without points are remembered empty: they excuse nothing.
            self.past.append(self.today)
            self.today = self._blank()
        self.day = day

    def to_state(self) -> dict[str, Any]:
        return {"day": self.day, "today": self.today, "past": list(self.past)}

    @classmethod
    def from_state(cls, state: dict[str, Any], streams: int = len(STREAMS)) -> DailyMemory:
        """`streams`: how many streams the saved days hold; newer ones start with no surprise."""
        memory = cls()
        memory.day = None if state["day"] is None else int(state["day"])
        memory.today = cls._checked([float(v) for v in state["today"]], streams)
        memory.past = deque(
            (cls._checked([float(v) for v in day], streams) for day in state["past"]),
            maxlen=DAYS,
        )
        return memory

    @staticmethod
    def _checked(slots: list[float], streams: int) -> list[float]:
        if len(slots) != streams * HOURS:
            raise ValueError(f"a day holds {len(slots)} slots, not {streams * HOURS}")
        return slots + [NO_SURPRISE] * ((len(STREAMS) - streams) * HOURS)


class AnomalyDetector:
    """Feed `update(value, at)` one point at a time; it returns an anomaly score in [0, 1].

    `at` (the point's timestamp) is optional: without it nothing is excused as recurring daily.
    """

    def __init__(self) -> None:
        self.values = Rolling(HISTORY)
        self.steps = Rolling(HISTORY)
        self.recent: deque[float] = deque(maxlen=SHORT)
        # The last BAR values (the bar forming now) and the means of completed bars.
        self.window = Rolling(BAR)
        self.bars = Rolling(BAR_HISTORY)
        self.surprises = {name: Rolling(LIKELIHOOD_WINDOW) for name in STREAMS}
        self.averages: dict[str, deque[float]] = {name: deque(maxlen=AVERAGE) for name in STREAMS}
        self.seen = 0
        self.quiet = 0
        self.last: float | None = None
        self.daily = DailyMemory()

    def update(self, value: float, at: datetime | None = None) -> float:
        if not math.isfinite(value):
            raise ValueError(f"anomaly detector: value {value!r} is not a finite number")
        self.seen += 1
        self.window.push(self._clipped(value))
        raw = self._surprises(value)
        if self.last is not None:
            self.steps.push(abs(value - self.last))
        self.values.push(value)
        self.last = value
        if len(self.window) == BAR and self.seen % BAR == 0:
            self.bars.push(self.window.mean())
        # Every stream's likelihood learns from every point, recurring or not.
        scores = {name: self._likelihood(name, r) for name, r in raw.items()}
        if at is not None:
            usual = self.daily.recurring(at, {name: math.log1p(r) for name, r in raw.items()})
            scores = {name: s for name, s in scores.items() if name not in usual}
        score = max(scores.values(), default=0.0)
        if self.seen < WARMUP or self.quiet > 0:
            self.quiet = max(self.quiet - 1, 0)
            return 0.0
        if score >= THRESHOLD:
            self.quiet = SUPPRESS
        return score

    def is_anomaly(self, score: float) -> bool:
        return score >= THRESHOLD

    def _clipped(self, value: float) -> float:
        if len(self.values) < MIN_HISTORY:
            return value
        mean = self.values.mean()
        reach = BAR_CLIP * max(self.values.std(), RELATIVE_FLOOR * max(abs(mean), 1.0))
        return min(max(value, mean - reach), mean + reach)

    def _surprises(self, value: float) -> dict[str, float]:
        if len(self.values) < MIN_HISTORY:
            return {}
        mean = self.values.mean()
        floor = RELATIVE_FLOOR * max(abs(mean), 1.0)
        scale = max(self.values.std(), floor)
        self.recent.append(value)
        short_mean = sum(self.recent) / len(self.recent)
        raw = {
            "point": abs(value - mean) / scale,
            "level": abs(short_mean - mean) / scale * math.sqrt(len(self.recent)),
        }
        if self.last is not None and len(self.steps) >= MIN_HISTORY:
            step = abs(value - self.last)
            raw["diff"] = abs(step - self.steps.mean()) / max(self.steps.std(), floor)
        if len(self.bars) >= MIN_HISTORY:
            raw["bar"] = abs(self.window.mean() - self.bars.mean()) / max(self.bars.std(), floor)
        return raw

    def _likelihood(self, name: str, surprise: float) -> float:
        compressed = round(math.log1p(surprise), DECIMALS)
        average = self.averages[name]
        average.append(compressed)
        past = self.surprises[name]
        score = 0.0
        if len(past) >= LIKELIHOOD_MIN:
            z = (sum(average) / len(average) - past.mean()) / max(past.std(), 1e-6)
            tail = 0.5 * math.erfc(z / math.sqrt(2.0))
            score = min(math.log(1.0000000001 - (1.0 - tail)) / math.log(TAIL_FLOOR), 1.0)
        past.push(compressed)
        return max(score, 0.0)

    def to_state(self) -> dict[str, Any]:
        """A JSON-serialisable snapshot (floats round-trip exactly through JSON)."""
        return {
            "version": STATE_VERSION,
            "values": self.values.to_state(),
            "steps": self.steps.to_state(),
            "recent": list(self.recent),
            "window": self.window.to_state(),
            "bars": self.bars.to_state(),
            "surprises": {name: r.to_state() for name, r in self.surprises.items()},
            "averages": {name: list(a) for name, a in self.averages.items()},
            "seen": self.seen,
            "quiet": self.quiet,
            "last": self.last,
            "daily": self.daily.to_state(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> AnomalyDetector:
        # An older state carries on with what it has: version 1 without daily memory, versions
        # 1 and 2 without the bar stream, which then learns from the next points on.
        version = state.get("version")
        if version not in (1, 2, STATE_VERSION):
            raise ValueError(f"anomaly detector: unknown state version {version!r}")
        streams = OLD_STREAMS.get(version, STREAMS)
        detector = cls()
        try:
            detector.values = Rolling.from_state(HISTORY, state["values"])
            detector.steps = Rolling.from_state(HISTORY, state["steps"])
            detector.recent = deque((float(v) for v in state["recent"]), maxlen=SHORT)
            for name in streams:
                detector.surprises[name] = Rolling.from_state(
                    LIKELIHOOD_WINDOW, state["surprises"][name]
                )
                detector.averages[name] = deque(
                    (float(v) for v in state["averages"][name]), maxlen=AVERAGE
                )
            if version == STATE_VERSION:
                detector.window = Rolling.from_state(BAR, state["window"])
                detector.bars = Rolling.from_state(BAR_HISTORY, state["bars"])
            detector.seen = int(state["seen"])
            detector.quiet = int(state["quiet"])
            detector.last = None if state["last"] is None else float(state["last"])
            if version != 1:
                detector.daily = DailyMemory.from_state(state["daily"], len(streams))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"anomaly detector: malformed state ({error!r})") from None
        return detector
