"""The revenue pages round so that what they show adds up: a bridge row's start and movements
to its end, a movement's customers to the movement.

Two customers billed in euros at 1.083333 dollars a euro, so every €10 is $10.83333: Ada pays
€10 in January and €20 from February (expansion), Bob starts on €10 in February (new).
February: start $10.83333, new $10.83333, expansion $10.83333, end $32.49999. Rounded one by
one that reads $10.83 + $10.83 + $10.83 = $32.50.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from fractions import Fraction
from typing import Any

import pytest
import time_machine
from django.test import Client

from founderops.reports import revenue, revenue_detail, revenue_section
from founderops.reports.revenue_text import dollars
from founderops.revenue import csv_import, rounding
from founderops.revenue.engine import MOVEMENTS
from founderops.web import revenue_views

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FEBRUARY = date(2026, 2, 1)
HEADER = (
    "customer_id,email,invoice_id,currency,amount,tax,period_start,period_end,plan,interval,"
    "status\n"
)
ROWS = (
    ("ada", "in_a1", "10.00", "2026-01-01", "2026-02-01", "Pro"),
    ("ada", "in_a2", "20.00", "2026-02-01", "2026-03-01", "Team"),
    ("ada", "in_a3", "20.00", "2026-03-01", "2026-04-01", "Team"),
    ("bob", "in_b1", "10.00", "2026-02-01", "2026-03-01", "Pro"),
    ("bob", "in_b2", "10.00", "2026-03-01", "2026-04-01", "Pro"),
)


@pytest.fixture
def euros(settings: Any) -> Iterator[None]:
    settings.STRIPE_LIVEMODE = True
    with time_machine.travel(NOW, tick=False):
        csv_import.import_rates("currency,day,rate\nEUR,2025-12-01,1.083333\n")
        lines = [
            f"{who},{who}@example.com,{invoice},EUR,{amount},0.00,{start},{end},{plan},month,paid"
            for who, invoice, amount, start, end, plan in ROWS
        ]
        assert csv_import.import_invoices(HEADER + "\n".join(lines) + "\n").imported == 5
        yield


def snap() -> revenue.Snapshot:
    found = revenue.snapshot(True)
    assert found is not None
    return found


def february(found: revenue.Snapshot) -> revenue.MonthRow:
    return next(row for row in found.rows if row.month == FEBRUARY)


def shown_row(html: str, month: date) -> list[int]:
    """A table row's money figures in cents, as the page writes them (losses negative)."""
    row = re.search(rf'<tr id="month-{month:%Y-%m}">(.*?)</tr>', html, re.S)
    assert row is not None
    cells = re.findall(r'<td class="num">(.*?)</td>', row.group(1), re.S)
    return [_cents(cell) for cell in cells[:-1]]  # the last cell counts customers


def _cents(cell: str) -> int:
    text = re.sub(r"<[^>]+>|\(\d+\)", "", cell).strip()
    if text == "—":
        return 0
    sign = -1 if text.startswith("\N{MINUS SIGN}") else 1
    return sign * int(re.sub(r"[^\d]", "", text))


def test_it_has_a_month_whose_figures_rounded_alone_miss_its_end(euros: None) -> None:
    row = february(snap())
    alone = rounding.half_up(row.start) + sum(
        rounding.half_up(row.moves[k]) * (-1 if k in rounding.LOSSES else 1) for k in MOVEMENTS
    )
    assert (alone, rounding.half_up(row.end)) == (3249, 3250)


def test_it_shows_a_bridge_row_that_adds_up_to_its_end(euros: None, founder_client: Client) -> None:
    response = founder_client.get("/revenue/")
    *parts, end = shown_row(response.content.decode(), FEBRUARY)
    assert (sum(parts), end) == (3250, 3250)


def test_it_shows_each_figure_of_the_row_within_a_cent_of_its_exact_value(euros: None) -> None:
    row = february(snap())
    [shown] = [r for r in revenue_views.table_rows(snap(), _choice()) if r.month == FEBRUARY]
    exact = [row.start, *(row.moves[k] for k in MOVEMENTS), row.fx, row.end]
    figures = [shown.start, *(c.value for c in shown.cells), shown.fx.value, shown.end]
    assert all(abs(s - e) <= 1 for s, e in zip(figures, exact, strict=True))


def test_it_starts_each_month_where_the_table_ended_the_last(euros: None) -> None:
    rows = list(reversed(revenue_views.table_rows(snap(), _choice())))
    assert [r.start for r in rows[1:]] == [r.end for r in rows[:-1]]


def test_it_adds_a_drill_downs_shown_lines_up_to_the_tables_figure(
    euros: None, founder_client: Client
) -> None:
    html = founder_client.get("/revenue/movements/2026-02/new/").content.decode()
    line = re.search(r'<td class="num amount">\+([^<]+)</td>', html)
    total = re.search(r'id="movement-total"><strong>\+([^<]+)</strong>', html)
    assert line is not None
    assert total is not None
    # Bob's $10.83333 alone would read $10.83; the table's cell reads $10.84.
    assert (line.group(1), total.group(1)) == ("$10.84", "$10.84")


def test_it_titles_the_charts_bars_with_the_tables_figures(
    euros: None, founder_client: Client
) -> None:
    html = founder_client.get("/revenue/").content.decode()
    # New alone reads $10.83; the table (start $10.83, end $32.50) shows +$10.84.
    assert "<title>Feb 2026 · new +$10.84</title>" in html
    assert "<title>Feb 2026 · expansion +$10.83</title>" in html


def test_it_compares_the_profiles_with_the_tables_figures(euros: None) -> None:
    found = snap()
    [shown] = [r for r in revenue_views.table_rows(found, _choice()) if r.month == FEBRUARY]
    compared = {d.label: d.mine for d in revenue_views.comparison(found)}
    new = shown.cells[MOVEMENTS.index("new")].value
    assert (compared["New in February"], dollars(new)) == ("$10.84", "$10.84")


def test_it_shows_a_drill_down_rows_before_and_part_adding_up_to_its_after(
    euros: None, founder_client: Client
) -> None:
    html = founder_client.get("/revenue/movements/2026-02/new/").content.decode()
    row = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    assert row is not None
    figures = re.findall(r'<td class="num[^"]*">(?:<span[^>]*>[a-z ]+</span>)?([^<]+)</td>', row[1])
    # Bob, from $0 to $10.83333: his after reads $10.84 like his part (alone, $10.83).
    assert figures == ["$0.00", "$10.84", "+$10.84"]


def test_it_shares_every_movements_shown_total_among_its_lines(euros: None) -> None:
    found = snap()
    for index, row in enumerate(found.rows):
        bridge = rounding.month_bridge(row.start, row.moves, row.fx)
        for kind in (*MOVEMENTS, "fx"):
            total = bridge.fx if kind == "fx" else bridge.moves[kind]
            lines = revenue_detail.movement_lines(found, index, kind)
            shown = revenue_detail.shown_lines(lines, total, kind)
            assert sum(line.shown or 0 for line in shown) == total, (row.month, kind)


def test_it_writes_the_briefings_net_as_the_sum_of_its_movements() -> None:
    day = revenue_detail.Day(
        date(2026, 3, 1),
        Fraction(3_249_999, 1000),
        {k: Fraction(0) for k in MOVEMENTS}
        | {"new": Fraction(1_083_333, 1000)}
        | {"expansion": Fraction(1_083_333, 1000)},
        {k: 0 for k in MOVEMENTS} | {"new": 1, "expansion": 1},
        Fraction(0),
    )
    # From $10.83333 through two movements of $10.83333 to $32.49999.
    assert revenue_section.movements(day) == (
        "new +$10.84 (1) · expansion +$10.83 (1) · net +$21.67"
    )


def test_it_ends_the_briefings_movements_at_the_mrr_it_shows() -> None:
    mrr = Fraction(3_249_999, 1000)
    net = Fraction(2 * 1_083_333, 1000)
    shown = rounding.month_bridge(
        mrr - net,
        {"new": Fraction(1_083_333, 1000), "expansion": Fraction(1_083_333, 1000)},
        Fraction(0),
    )
    assert dollars(Fraction(shown.end)) == dollars(mrr) == "$32.50"


def _choice() -> revenue_views.Choice:
    return revenue_views.Choice("live", revenue.DEFAULT_PROFILE)
