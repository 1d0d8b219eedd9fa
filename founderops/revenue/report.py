"""The engine's results as the reference scenario's two CSV files.

Rounded as the pages round (`rounding`): a month's start, movements, FX and end add up on the
line, and the customers' month-end MRR add up to the TOTAL line.
"""

from __future__ import annotations

import csv
import io
from fractions import Fraction
from pathlib import Path

from founderops.revenue import metrics, rounding
from founderops.revenue.engine import MOVEMENTS, Month, Result

MOVEMENT_COLUMNS = (
    "month",
    "start_mrr",
    "new",
    "expansion",
    "reactivation",
    "contraction",
    "churn",
    "fx_impact",
    "end_mrr",
    "paying_customers_end",
    "arpa",
    "customer_churn_rate_b2b",
    "gross_mrr_churn_rate",
    "net_mrr_churn_rate",
    "nrr_month_ex_fx",
    "grr_month_ex_fx",
    "quick_ratio_excl_reactivation",
    "quick_ratio_incl_reactivation",
)


def half_up(value: Fraction, decimals: int) -> str:
    """Round half away from zero (Decimal's ROUND_HALF_UP) to `decimals` places."""
    scaled = abs(value) * 10**decimals
    units = int(scaled + Fraction(1, 2))
    sign = "-" if value < 0 and units else ""
    whole, part = divmod(units, 10**decimals)
    return f"{sign}{whole}.{part:0{decimals}d}"


def money(cents: Fraction) -> str:
    return half_up(cents / 100, 2)


def _rate(value: Fraction | None) -> str:
    return "" if value is None else half_up(value, 4)


def movement_row(month: Month) -> list[str]:
    rates = metrics.month_rates(month)
    shown = rounding.month_bridge(month.start, month.moves, month.fx)
    return [
        f"{month.month:%Y-%m}",
        money(Fraction(shown.start)),
        *(money(Fraction(shown.moves[kind])) for kind in MOVEMENTS),
        money(Fraction(shown.fx)),
        money(Fraction(shown.end)),
        str(month.paying_end),
        "" if rates.arpa is None else money(rates.arpa),
        _rate(rates.customer_churn),
        _rate(rates.gross_mrr_churn),
        _rate(rates.net_mrr_churn),
        _rate(rates.nrr),
        _rate(rates.grr),
        _rate(rates.quick_ratio),
        _rate(rates.quick_ratio_with_reactivation),
    ]


def movements_csv(result: Result) -> str:
    return _csv([list(MOVEMENT_COLUMNS), *(movement_row(m) for m in result.months)])


def month_end_csv(result: Result) -> str:
    header = ["customer", *(f"{m.month:%Y-%m}" for m in result.months)]
    exact = [result.month_end(index) for index in range(len(result.customers))]
    totals = [rounding.half_up(month.end) for month in result.months]
    # Month by month, the customers share the month's rounded total.
    columns = [
        rounding.allocate([values[m] for values in exact], total) for m, total in enumerate(totals)
    ]
    rows = [
        [name, *(money(Fraction(column[index])) for column in columns)]
        for index, name in enumerate(result.customers)
    ]
    return _csv([header, *rows, ["TOTAL", *(money(Fraction(t)) for t in totals)]])


def write(result: Result, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (
        ("movements.csv", movements_csv(result)),
        ("month_end_mrr_usd.csv", month_end_csv(result)),
    ):
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()
