"""`founderops bench revenue`: the MRR engine at 100,000 customers x 36 months, beside DuckDB.

A deterministic generator (seeded numpy) writes a columnar book directly: plans at four
prices, monthly / quarterly / yearly intervals, upgrades and downgrades at renewal, coupons
that expire, trials (some never convert), failed payments (recovered or lost to dunning),
refunds, churn, comebacks after a gap, and 15 % of customers billed in EUR at daily rates.
The bench then times, each with its peak memory:

1. the engine: the full movement table (`engine.compute`), then every headline metric
   (rates, trailing-12 NRR/GRR, LTV, CAC and payback, trial conversion, payment recovery,
   cohorts, a 12-month cash-flow projection);
2. the incremental update after one more day of invoices and of status changes to earlier
   ones (and checks it against a full computation of the extended book, untimed);
3. a plain DuckDB SQL query computing the same monthly bridge from the same invoice tables,
   whose month totals must equal the engine's exactly (the JSON says whether they did).
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from fractions import Fraction
from functools import partial
from typing import Any, TypeVar

import duckdb
import numpy as np
import psutil

from founderops.revenue import cashflow, cohorts, engine, metrics
from founderops.revenue.billing import FxRate
from founderops.revenue.book import (
    I64,
    NEVER,
    PAID,
    VOID,
    Book,
    Failures,
    Invoices,
    Lines,
    Refunds,
    Subscriptions,
    day_number,
    split,
)
from founderops.revenue.engine import MOVEMENTS, Result

FIRST = date(2023, 1, 1)
# Monthly list prices (cents) of the four plans and how often each is chosen.
PRICES = np.array([2900, 9900, 29900, 89900], dtype=np.int64)
PLAN_SHARE = [0.45, 0.35, 0.15, 0.05]
# Interval months, how often each is chosen, and the price factor (longer terms are cheaper).
INTERVALS = np.array([1, 3, 12], dtype=np.int64)
INTERVAL_SHARE = [0.80, 0.08, 0.12]
INTERVAL_PERCENT = {1: 100, 3: 95, 12: 83}
MONTHLY_CHURN = 0.025
COMEBACK = 0.3
EUR_SHARE = 0.15
T = TypeVar("T")


@dataclass(frozen=True)
class Shape:
    customers: int = 100_000
    months: int = 36
    seed: int = 7


@dataclass
class _Episodes:
    """One row per subscription episode (a customer's first run, or their comeback)."""

    customer: I64
    month: I64
    day: I64
    interval: I64
    plan: I64
    invoices: I64
    discounted: np.ndarray
    trial: np.ndarray
    lost: np.ndarray
    running: np.ndarray = field(default_factory=lambda: np.zeros(0, np.bool_))


def generate(shape: Shape) -> Book:
    """The history through `shape.months` months and one more day (the incremental's day)."""
    rng = np.random.default_rng(shape.seed)
    months = shape.months
    month_days = _month_days(months + 40)
    first_episodes = _first_episodes(rng, shape)
    comebacks = _comebacks(rng, first_episodes, months)
    episodes = _concat_episodes(first_episodes, comebacks)
    end = int(month_days[months]) + 1
    currency = (rng.random(shape.customers) < EUR_SHARE).astype(np.int64)
    return _book(rng, episodes, currency, month_days, end)


def _month_days(count: int) -> I64:
    """Day number of the first day of each month from FIRST."""
    months = np.datetime64(f"{FIRST:%Y-%m}", "M") + np.arange(count)
    return months.astype("datetime64[D]").astype(np.int64)


def _first_episodes(rng: np.random.Generator, shape: Shape) -> _Episodes:
    count = shape.customers
    arrival = np.sort(rng.integers(0, shape.months * 30, count))
    return _draw_episodes(
        rng,
        customer=np.arange(count, dtype=np.int64),
        month=np.minimum(arrival // 30, shape.months - 1),
        horizon=shape.months,
    )


def _draw_episodes(rng: np.random.Generator, customer: I64, month: I64, horizon: int) -> _Episodes:
    count = len(customer)
    interval = rng.choice(INTERVALS, count, p=INTERVAL_SHARE)
    per_invoice_churn = 1 - (1 - MONTHLY_CHURN) ** interval
    invoices = rng.geometric(per_invoice_churn)
    # Dunning lost: the episode's last invoice is voided and the subscription canceled.
    lost_at = rng.geometric(0.006, count)
    lost = lost_at < invoices
    invoices = np.where(lost, lost_at, invoices)
    trial = rng.random(count) < 0.2
    # A tenth of trials never convert: no paid invoice at all.
    invoices = np.where(trial & (rng.random(count) < 0.1), 0, invoices)
    room = (horizon - month + interval) // interval
    running = invoices > room
    return _Episodes(
        customer=customer,
        month=month,
        day=rng.integers(1, 29, count),
        interval=interval,
        plan=rng.choice(len(PRICES), count, p=PLAN_SHARE),
        invoices=np.minimum(invoices, room),
        discounted=rng.random(count) < 0.1,
        trial=trial,
        lost=lost & ~running,
        running=running,
    )


def _comebacks(rng: np.random.Generator, episodes: _Episodes, horizon: int) -> _Episodes:
    gone = ~episodes.running & (episodes.invoices > 0)
    back = np.flatnonzero(gone & (rng.random(len(gone)) < COMEBACK))
    ended = episodes.month[back] + episodes.invoices[back] * episodes.interval[back]
    month = ended + rng.integers(1, 7, len(back))
    inside = month < horizon
    return _draw_episodes(rng, episodes.customer[back][inside], month[inside], horizon)


def _concat_episodes(first: _Episodes, second: _Episodes) -> _Episodes:
    return _Episodes(
        *(np.concatenate((getattr(first, name), getattr(second, name))) for name in _FIELDS)
    )


_FIELDS = (
    "customer",
    "month",
    "day",
    "interval",
    "plan",
    "invoices",
    "discounted",
    "trial",
    "lost",
    "running",
)


def _book(
    rng: np.random.Generator, episodes: _Episodes, currency: I64, month_days: I64, end: int
) -> Book:
    paid = _paid_invoices(rng, episodes, month_days)
    trials = _trial_invoices(episodes, month_days)
    rows = {name: np.concatenate((paid[name], trials[name])) for name in paid}
    keep = rows["start"] < end
    rows = {name: values[keep] for name, values in rows.items()}
    order = np.argsort(rows["start"], kind="stable")
    rows = {name: values[order] for name, values in rows.items()}
    count = len(order)
    invoice_rows = np.arange(count, dtype=np.int64)
    recovered = (rng.random(count) < 0.01) & (rows["status"] == PAID) & ~rows["trial"]
    failed = np.flatnonzero(recovered | (rows["status"] == VOID))
    refunded = np.flatnonzero((rng.random(count) < 0.003) & ~rows["trial"])
    tax = np.where(currency[rows["customer"]] == 1, (rows["gross"] - rows["discount"]) // 5, 0)
    first = day_number(FIRST)
    return Book(
        first=first,
        days=end - first,
        customers=[f"cus_{index:06d}" for index in range(len(currency))],
        currencies=["USD", "EUR"],
        customer_currency=currency,
        subscriptions=_subscriptions(episodes, month_days, end),
        invoices=Invoices(
            customer=rows["customer"],
            subscription=rows["subscription"],
            start=rows["start"],
            end=rows["end"],
            status=rows["status"],
            voided=np.where(rows["status"] == VOID, rows["start"] + 14, NEVER),
        ),
        lines=Lines(
            invoice=invoice_rows,
            # Month-based intervals: a unit of 12 to the year, every 1, 3 or 12 of them.
            per_year=np.full(count, 12, np.int64),
            every=rows["months"],
            gross=rows["gross"],
            discount=rows["discount"],
            forever=np.zeros(count, np.bool_),
            tax=tax,
            trial=rows["trial"],
        ),
        refunds=Refunds(refunded, (rows["gross"] - rows["discount"])[refunded]),
        failures=Failures(failed, rows["start"][failed]),
        rates=_eur_rates(rng, first - 40, end + 1),
    )


def _paid_invoices(
    rng: np.random.Generator, episodes: _Episodes, month_days: I64
) -> dict[str, np.ndarray]:
    episode = np.repeat(np.arange(len(episodes.customer)), episodes.invoices)
    starts = np.cumsum(episodes.invoices) - episodes.invoices
    k = np.arange(len(episode)) - np.repeat(starts, episodes.invoices)
    interval = episodes.interval[episode]
    month = episodes.month[episode] + k * interval
    day = episodes.day[episode] - 1
    step = rng.choice([-1, 0, 1], len(episode), p=[0.015, 0.955, 0.03])
    step[k == 0] = 0
    plan = np.clip(episodes.plan[episode] + _segment_sum(step, k == 0), 0, len(PRICES) - 1)
    gross = PRICES[plan] * interval * _percent(interval) // 100
    discount = np.where(episodes.discounted[episode] & (k < 3), gross // 5, 0)
    last = k == episodes.invoices[episode] - 1
    status = np.where(last & episodes.lost[episode], VOID, PAID)
    return {
        "customer": episodes.customer[episode],
        "subscription": episode,
        "start": month_days[month] + day,
        "end": month_days[month + interval] + day,
        "status": status.astype(np.int64),
        "months": interval,
        "gross": gross,
        "discount": discount,
        "trial": np.zeros(len(episode), np.bool_),
    }


def _trial_invoices(episodes: _Episodes, month_days: I64) -> dict[str, np.ndarray]:
    # A 14-day trial just before the first paid period, at the plan's list price (zero MRR
    # under the default profile).
    episode = np.flatnonzero(episodes.trial)
    interval = episodes.interval[episode]
    start = month_days[episodes.month[episode]] + episodes.day[episode] - 1
    return {
        "customer": episodes.customer[episode],
        "subscription": episode,
        "start": start - 14,
        "end": start,
        "status": np.full(len(episode), PAID, dtype=np.int64),
        "months": interval,
        "gross": PRICES[episodes.plan[episode]] * interval * _percent(interval) // 100,
        "discount": np.zeros(len(episode), np.int64),
        "trial": np.ones(len(episode), np.bool_),
    }


def _percent(interval: I64) -> I64:
    return np.select([interval == 1, interval == 3], [100, 95], INTERVAL_PERCENT[12])


def _segment_sum(values: I64, starts: np.ndarray) -> I64:
    total = np.cumsum(values)
    head = np.maximum.accumulate(np.where(starts, np.arange(len(values)), 0))
    return np.asarray(total - (total - values)[head], dtype=np.int64)


def _subscriptions(episodes: _Episodes, month_days: I64, end: int) -> Subscriptions:
    first = month_days[episodes.month] + episodes.day - 1
    start = np.where(episodes.trial, first - 14, first)
    day = episodes.day - 1
    last_end = month_days[episodes.month + episodes.invoices * episodes.interval] + day
    # Lost to dunning: canceled when the last (unpaid) invoice is voided, 14 days in.
    last_start = month_days[
        episodes.month + np.maximum(episodes.invoices - 1, 0) * episodes.interval
    ]
    ended = np.where(episodes.invoices == 0, first, last_end)
    ended = np.where(episodes.lost, last_start + day + 14, ended)
    return Subscriptions(
        customer=episodes.customer,
        start=start,
        end=np.where(episodes.running | (ended >= end), NEVER, ended),
        cancel_at_period_end=np.zeros(len(start), np.bool_),
    )


def _eur_rates(rng: np.random.Generator, first: int, end: int) -> tuple[FxRate, ...]:
    # A daily random walk around 1.08 with four decimals, like an ECB reference rate.
    steps = rng.normal(0, 0.003, end - first)
    walk = np.clip(1.08 + np.cumsum(steps), 0.9, 1.3)
    return tuple(
        FxRate("EUR", date(1970, 1, 1) + timedelta(days=first + k), Fraction(round(v * 1e4), 10**4))
        for k, v in enumerate(walk)
    )


# -- measuring ---------------------------------------------------------------------------------
class Peak:
    """The process's largest resident memory while a block runs, sampled every 5 ms."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, me.memory_info().rss)
            self._stop.wait(0.005)

    @contextmanager
    def watching(self) -> Iterator[None]:
        thread = threading.Thread(target=self._sample, daemon=True)
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join()
            self.peak = max(self.peak, psutil.Process().memory_info().rss)

    @property
    def mb(self) -> float:
        return round(self.peak / 2**20, 1)


def timed(work: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    out = work()
    return out, time.perf_counter() - started


def headline(result: Result) -> dict[str, object]:
    """Every metric the product shows, computed once (what the bench times)."""
    last = len(result.calendar.months) - 1
    margin = Fraction(4, 5)
    table = metrics.table(result)
    spend = [(m.month, 2_000_000) for m in result.months]
    return {
        "table": table,
        "t12": metrics.trailing_retention(result, last) if last >= 12 else None,
        "ltv": metrics.ltv(result, last, margin, window=3),
        "acquisition": metrics.acquisition(result, spend, margin),
        "trials": metrics.trial_conversion(result),
        "recovery": metrics.payment_recovery(result),
        "cohorts": cohorts.cohorts(result),
        "cashflow": cashflow.projection(result, 12),
    }


def run(shape: Shape) -> dict[str, object]:
    book, generate_s = timed(lambda: generate(shape))
    # The stored state is the history before the last day; the last day is the update.
    base, batch = split(book, book.first + book.days - 1)
    del book
    figures, ours, same = _engine_phase(base, batch)
    gc.collect()
    before = rss_mb()
    peak = Peak()
    with peak.watching():
        theirs, duck_s = timed(lambda: duckdb_bridge(base))
    return {
        "customers": shape.customers,
        "months": shape.months,
        "seed": shape.seed,
        "invoices": len(base.invoices.customer),
        "eur_customers": int((base.customer_currency == 1).sum()),
        "generate_s": round(generate_s, 2),
        **figures,
        "duckdb": {"bridge_s": round(duck_s, 2), "rss_before_mb": before, "peak_rss_mb": peak.mb},
        "bridge_matches_duckdb": ours == theirs,
        "months_compared": len(ours),
        "all_agree": ours == theirs and same,
    }


def _engine_phase(base: Book, batch: Book) -> tuple[dict[str, object], list[tuple[int, ...]], bool]:
    before = rss_mb()
    peak = Peak()
    with peak.watching():
        result, compute_s = timed(lambda: engine.compute(base))
        figures, metrics_s = timed(partial(headline, result))
    summary, totals = _summary(figures), bridge_totals(result)
    del figures
    updated, update_s = timed(partial(engine.update, result, batch))
    # The check is not timed; what it no longer needs goes first, to keep memory down.
    del result
    same = _same_block(updated, engine.compute(updated.book))
    return (
        {
            "engine": {
                "movement_table_s": round(compute_s, 2),
                "metrics_s": round(metrics_s, 2),
                "total_s": round(compute_s + metrics_s, 2),
                "rss_before_mb": before,
                "peak_rss_mb": peak.mb,
            },
            "incremental": {
                "new_invoices": len(batch.invoices.customer),
                # Earlier invoices voided or failing on the day (split hands them over open).
                "status_changes": len(batch.changes.invoice),
                "seconds": round(update_s, 3),
                "matches_full_recompute": same,
            },
            "headline": summary,
        },
        totals,
        same,
    )


def _same_block(one: Result, other: Result) -> bool:
    return all(
        np.array_equal(getattr(one.block, f.name), getattr(other.block, f.name))
        for f in fields(one.block)
    )


def rss_mb() -> float:
    return round(float(psutil.Process().memory_info().rss) / 2**20, 1)


def _summary(figures: dict[str, Any]) -> dict[str, object]:
    last: metrics.MonthRates = figures["table"][-1]
    t12: metrics.Retention | None = figures["t12"]
    ltv: metrics.Ltv = figures["ltv"]

    def dollars(cents: Fraction | None) -> float | None:
        return None if cents is None else round(float(cents) / 100, 2)

    def share(value: Fraction | None) -> float | None:
        return None if value is None else round(float(value), 4)

    return {
        "month": f"{last.month:%Y-%m}",
        "mrr": dollars(last.mrr),
        "arr": dollars(last.arr),
        "paying_customers": last.customers,
        "arpa": dollars(last.arpa),
        "customer_churn": share(last.customer_churn),
        "nrr_month": share(last.nrr),
        "nrr_t12": share(t12.nrr) if t12 else None,
        "grr_t12": share(t12.grr) if t12 else None,
        "quick_ratio": share(last.quick_ratio),
        "ltv": dollars(ltv.value),
        "ltv_formula": ltv.formula,
    }


def bridge_totals(result: Result) -> list[tuple[int, ...]]:
    """Per month: start, the five movements, FX and end, in the engine's units."""
    block = result.block
    rows = zip(
        result.start_units.tolist(),
        *(block.moves[i].tolist() for i in range(len(MOVEMENTS))),
        block.fx.tolist(),
        result.end_units.tolist(),
        strict=True,
    )
    return [tuple(int(v) for v in row) for row in rows]


# The same bridge in plain SQL, under the default profile (discounts applied, tax and trials
# out, past-due counted until voided, FX at the service period's start).
BRIDGE_SQL = """
WITH line_mrr AS (
    -- twelfths of a minor unit, half-up like engine.line_twelfths (the amounts are >= 0)
    SELECT invoice, SUM(CASE WHEN trial THEN 0
        ELSE (2 * (gross - discount) * per_year + every) // (2 * every) END) AS mrr
    FROM lines GROUP BY invoice
), spans AS (
    SELECT i.customer, c.currency, i.start_day AS s,
           CASE WHEN i.status <> 0 THEN least(i.end_day, i.voided) ELSE i.end_day END AS e,
           m.mrr AS native
    FROM invoices i JOIN line_mrr m ON m.invoice = i.id JOIN customers c USING (customer)
    WHERE m.mrr <> 0
), converted AS (
    SELECT s.customer, s.s, s.e, s.native,
           s.native * CASE WHEN s.currency = 0 THEN $denominator ELSE r.factor END AS usd
    FROM spans s ASOF LEFT JOIN rates r ON s.currency = r.currency AND s.s >= r.day
    WHERE s.e > s.s AND s.e > $first AND s.s < $stop
), events AS (
    SELECT customer, greatest(s, $first) AS day, native AS dn, usd AS du FROM converted
    UNION ALL
    SELECT customer, e, -native, -usd FROM converted WHERE e < $stop
), daily AS (
    SELECT customer, day, SUM(dn) AS dn, SUM(du) AS du FROM events GROUP BY customer, day
    HAVING SUM(dn) <> 0 OR SUM(du) <> 0
), running AS (
    SELECT customer, day, dn, du, SUM(dn) OVER w AS native, SUM(du) OVER w AS usd
    FROM daily WINDOW w AS (PARTITION BY customer ORDER BY day ROWS UNBOUNDED PRECEDING)
), changes AS (
    SELECT r.*, r.native - r.dn AS native0, r.usd - r.du AS usd0, c.currency <> 0 AS abroad,
           SUM(CASE WHEN r.usd - r.du = 0 AND r.usd > 0 THEN 1 ELSE 0 END) OVER (
               PARTITION BY r.customer ORDER BY r.day ROWS UNBOUNDED PRECEDING) AS starts
    FROM running r JOIN customers c USING (customer)
), classified AS (
    SELECT k.month, x.*,
           CASE WHEN usd0 > 0 AND usd > 0 AND abroad THEN
               CASE WHEN native = native0 THEN du
                    ELSE (2 * native0::HUGEINT * usd + native) // (2 * native) - usd0 END
           ELSE 0 END AS fx
    FROM changes x JOIN calendar k USING (day)
), months AS (
    SELECT month,
        SUM(CASE WHEN usd0 = 0 AND usd > 0 AND starts = 1 THEN usd ELSE 0 END) AS new,
        SUM(CASE WHEN usd0 > 0 AND usd > 0 AND du - fx > 0 THEN du - fx ELSE 0 END) AS expansion,
        SUM(CASE WHEN usd0 = 0 AND usd > 0 AND starts > 1 THEN usd ELSE 0 END) AS reactivation,
        SUM(CASE WHEN usd0 > 0 AND usd > 0 AND du - fx < 0 THEN fx - du ELSE 0 END)
            AS contraction,
        SUM(CASE WHEN usd0 > 0 AND usd = 0 THEN usd0 ELSE 0 END) AS churn,
        SUM(fx) AS fx, SUM(du) AS net
    FROM classified GROUP BY month
)
SELECT k.month, coalesce(new, 0), coalesce(expansion, 0), coalesce(reactivation, 0),
       coalesce(contraction, 0), coalesce(churn, 0), coalesce(fx, 0), coalesce(net, 0)
FROM (SELECT DISTINCT month FROM calendar) k LEFT JOIN months USING (month)
ORDER BY k.month
"""


def duckdb_bridge(book: Book) -> list[tuple[int, ...]]:
    """The monthly bridge of `book` by DuckDB, shaped like `bridge_totals`."""
    rates = engine.Rates.of(book)
    calendar = engine.Calendar.of(book)
    con = duckdb.connect()
    try:
        _register(con, book, rates, calendar)
        params = {
            "denominator": rates.denominator,
            "first": calendar.first,
            "stop": calendar.first + calendar.days,
        }
        rows = con.execute(BRIDGE_SQL, params).fetchall()
    finally:
        con.close()
    return _with_balances(rows)


def _register(
    con: duckdb.DuckDBPyConnection, book: Book, rates: engine.Rates, calendar: engine.Calendar
) -> None:
    invoices, lines = book.invoices, book.lines
    con.register(
        "invoices",
        {
            "id": np.arange(len(invoices.customer), dtype=np.int64),
            "customer": invoices.customer,
            "start_day": invoices.start,
            "end_day": invoices.end,
            "status": invoices.status,
            "voided": invoices.voided,
        },
    )
    con.register(
        "lines",
        {
            "invoice": lines.invoice,
            "per_year": lines.per_year,
            "every": lines.every,
            "gross": lines.gross,
            "discount": lines.discount,
            "trial": lines.trial,
        },
    )
    con.register(
        "customers",
        {
            "customer": np.arange(len(book.customers), dtype=np.int64),
            "currency": book.customer_currency,
        },
    )
    currency, day, factor = _rate_columns(rates)
    con.register("rates", {"currency": currency, "day": day, "factor": factor})
    con.register(
        "calendar",
        {
            "day": np.arange(calendar.days, dtype=np.int64) + calendar.first,
            "month": calendar.month_of_day,
        },
    )


def _rate_columns(rates: engine.Rates) -> tuple[I64, I64, I64]:
    empty = np.zeros(0, dtype=np.int64)
    items = list(rates.table.items())
    currency = [np.full(len(days), index, dtype=np.int64) for index, (days, _) in items]
    day = [days for _, (days, _) in items]
    factor = [values for _, (_, values) in items]
    return (
        np.concatenate([empty, *currency]),
        np.concatenate([empty, *day]),
        np.concatenate([empty, *factor]),
    )


def _with_balances(rows: list[tuple[Any, ...]]) -> list[tuple[int, ...]]:
    out, end = [], 0
    for _, new, expansion, reactivation, contraction, churn, fx, net in rows:
        start, end = end, end + int(net)
        moves = (new, expansion, reactivation, contraction, churn)
        out.append((start, *(int(v) for v in moves), int(fx), end))
    return out
