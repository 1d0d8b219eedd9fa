"""The cockpit's revenue pages: MRR and its movements, who made a movement, cohorts, the
forecast and the customers at risk. Read-only (GET); every figure comes from reports.revenue.

`?mode=live|test` picks the Stripe mode (default FOUNDEROPS_STRIPE_LIVEMODE) and
`?profile=chartmogul|stripe` the engine's profile; the links on each page keep both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from fractions import Fraction
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from founderops.reports import revenue, revenue_detail, revenue_insights
from founderops.reports.revenue import Headline, Snapshot
from founderops.revenue import ledger, rounding
from founderops.revenue.billing import RevenueInputError
from founderops.revenue.engine import MOVEMENTS
from founderops.revenue.forecast import ForecastInputError
from founderops.web import revenue_charts
from founderops.web.access import staff_required
from founderops.web.monitor_views import polyline
from founderops.web.templatetags.revenue_format import pct, ratio, usd, usd0

RISK_ON_OVERVIEW = 5
RISK_SHOWN = 50
SPARK_WIDTH, SPARK_HEIGHT = 160, 32
KIND_NAMES = {
    "new": "New",
    "expansion": "Expansion",
    "reactivation": "Reactivation",
    "contraction": "Contraction",
    "churn": "Churn",
    "fx": "FX impact",
}


@dataclass(frozen=True)
class Choice:
    """The mode and profile a page shows, from its query string."""

    mode: str
    profile: str

    @property
    def livemode(self) -> bool:
        return self.mode == "live"

    def query(self, **changes: str) -> str:
        """The query string that keeps this choice (with `changes`), defaults left out."""
        values = {"mode": self.mode, "profile": self.profile, **changes}
        defaults = {"mode": _default_mode(), "profile": revenue.DEFAULT_PROFILE}
        kept = {k: v for k, v in values.items() if v != defaults[k]}
        return f"?{urlencode(kept)}" if kept else ""


def _default_mode() -> str:
    return "live" if settings.STRIPE_LIVEMODE else "test"


def choice_of(request: HttpRequest) -> Choice:
    mode = request.GET.get("mode", "")
    profile = request.GET.get("profile", "")
    return Choice(
        mode if mode in ("live", "test") else _default_mode(),
        profile if profile in revenue.PROFILE_NAMES else revenue.DEFAULT_PROFILE,
    )


def _load(choice: Choice) -> tuple[Snapshot | None, str]:
    """The snapshot, or None and why the numbers cannot be shown ("" when there is no data)."""
    try:
        return revenue.snapshot(choice.livemode, choice.profile), ""
    except RevenueInputError as error:
        return None, str(error)


def _base(request: HttpRequest, choice: Choice, page: str) -> dict[str, Any]:
    links = {
        name: reverse(f"web:{name}") + choice.query()
        for name in (
            "revenue",
            "revenue_cohorts",
            "revenue_forecast",
            "revenue_risk",
            "revenue_insights",
        )
    }
    here = reverse(f"web:{page}") if page else request.path
    return {
        "choice": choice,
        "page": page,
        "links": links,
        "profiles": [
            (key, name, here + choice.query(profile=key))
            for key, name in revenue.PROFILE_NAMES.items()
        ],
        "modes": [(key, here + choice.query(mode=key)) for key in ("live", "test")],
        "profile_name": revenue.PROFILE_NAMES[choice.profile],
    }


def _empty(request: HttpRequest, context: dict[str, Any], problem: str) -> HttpResponse:
    context |= {
        "problem": problem,
        "other_mode_has_data": revenue.has_billing(not context["choice"].livemode),
    }
    return render(request, "web/revenue/empty.html", context)


# --- /revenue/ ----------------------------------------------------------------------------------


@staff_required
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    choice = choice_of(request)
    context = _base(request, choice, "revenue")
    snap, problem = _load(choice)
    if snap is None:
        return _empty(request, context, problem)

    def link(month: date, kind: str) -> str:
        return movement_url(choice, month, kind)

    context |= {
        "snap": snap,
        "figures": figures(snap.headline),
        "headline": snap.headline,
        "chart": revenue_charts.mrr_chart(snap.rows, link),
        "rows": table_rows(snap, choice),
        "comparison": comparison(snap),
        "settings_differ": revenue.differing_settings(
            snap.result.settings, snap.other.result.settings
        ),
        "other_name": snap.other.profile_name,
        "at_risk": snap.at_risk[:RISK_ON_OVERVIEW],
        "leaving": snap.leaving,
        # The customers left out are in the notice at the top; the rest of the gaps here.
        "problems": ledger.problems(choice.livemode, replace(snap.ledger, excluded=[])),
    }
    return render(request, "web/revenue/overview.html", context)


def movement_url(choice: Choice, month: date, kind: str) -> str:
    path = reverse("web:revenue_movements", kwargs={"month": f"{month:%Y-%m}", "kind": kind})
    return path + choice.query()


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: str
    hint: str = ""


def figures(h: Headline) -> list[Figure]:
    """The headline figures, formatted (templates only lay them out)."""
    month = h.month
    of = f"in {month.month:%B}" if month else "after a full month"
    out = [
        Figure("mrr", "MRR", usd0(h.mrr), f"at the close of {h.as_of:%b %-d} (UTC)"),
        Figure("arr", "ARR", usd0(h.arr), "MRR x 12"),
        Figure("arpa", "ARPA", usd(h.arpa), "MRR per paying customer"),
        Figure("customers", "Paying customers", str(h.customers)),
        Figure("customer-churn", "Customer churn", pct(month and month.customer_churn), of),
        Figure("gross-churn", "Gross MRR churn", pct(month and month.gross_mrr_churn), of),
        Figure("net-churn", "Net MRR churn", pct(month and month.net_mrr_churn), of),
        Figure("nrr", "NRR", pct(month and month.nrr), of),
        Figure("grr", "GRR", pct(month and month.grr), of),
        Figure("quick-ratio", "Quick ratio", ratio(month and month.quick_ratio), of),
    ]
    if h.trailing is not None:
        since = f"customers paying 12 months before {h.trailing.month:%b %Y}"
        out += [
            Figure("nrr-12", "NRR, 12 months", pct(h.trailing.nrr), since),
            Figure("grr-12", "GRR, 12 months", pct(h.trailing.grr), since),
        ]
    if h.ltv is not None:
        out.append(Figure("ltv", "LTV", usd0(h.ltv.value), "formula below"))
    return out


@dataclass(frozen=True)
class Cell:
    # Whole cents as shown (the row's figures add up); `exact` says whether anything moved.
    value: int
    count: int
    url: str
    exact: Fraction


@dataclass(frozen=True)
class TableRow:
    month: date
    partial: bool
    start: int
    cells: list[Cell]
    fx: Cell
    end: int
    customers: int


def table_rows(snap: Snapshot, choice: Choice) -> list[TableRow]:
    """The movement table, newest month first, each cell linking to its customers; rounded
    so that each row's start and movements add up to its end (`rounding.month_bridge`)."""
    out = []
    for row in reversed(snap.rows):
        shown = rounding.month_bridge(row.start, row.moves, row.fx)
        cells = [
            Cell(shown.moves[k], row.counts[k], movement_url(choice, row.month, k), row.moves[k])
            for k in MOVEMENTS
        ]
        fx = Cell(shown.fx, 0, movement_url(choice, row.month, "fx"), row.fx)
        out.append(
            TableRow(row.month, row.partial, shown.start, cells, fx, shown.end, row.customers)
        )
    return out


def comparison(snap: Snapshot) -> list[revenue.Difference]:
    """The figures under this profile beside the other's; a month's movements rounded as each
    profile's movement table rounds them (`rounding.month_bridge`), so this profile's column
    shows the table's figures to the cent."""
    mine, theirs = snap.headline, snap.other.headline
    pairs = [
        ("MRR", usd(mine.mrr), usd(theirs.mrr)),
        ("ARPA", usd(mine.arpa), usd(theirs.arpa)),
        ("Paying customers", str(mine.customers), str(theirs.customers)),
    ]
    if mine.month and theirs.month:
        a, b = snap.rows[snap.complete], snap.other.rows[snap.complete]
        ours, other = (rounding.month_bridge(r.start, r.moves, r.fx) for r in (a, b))
        pairs += [
            (f"{KIND_NAMES[k]} in {a.month:%B}", usd(ours.moves[k]), usd(other.moves[k]))
            for k in MOVEMENTS
        ]
        pairs += [
            ("Net MRR churn", pct(mine.month.net_mrr_churn), pct(theirs.month.net_mrr_churn)),
            ("NRR", pct(mine.month.nrr), pct(theirs.month.nrr)),
        ]
    return [revenue.Difference(label, a, b) for label, a, b in pairs]


# --- /revenue/movements/<month>/<kind>/ -----------------------------------------------------------


# Only the form the pages link to: strptime alone takes "2026-1" and non-ASCII digits.
MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


def _month(text: str) -> date:
    found = MONTH.fullmatch(text)
    if found is None or found[1] == "0000":
        raise Http404("a month is written YYYY-MM")
    return date(int(found[1]), int(found[2]), 1)


@staff_required
@require_GET
def movements(request: HttpRequest, month: str, kind: str) -> HttpResponse:
    choice = choice_of(request)
    context = _base(request, choice, "")
    if kind not in KIND_NAMES:
        raise Http404(f"no movement called {kind!r}")
    snap, problem = _load(choice)
    if snap is None:
        return _empty(request, context, problem)
    index = revenue_detail.month_index(snap, _month(month))
    if index is None:
        raise Http404("that month is outside the billing history")
    row = snap.rows[index]
    shown = rounding.month_bridge(row.start, row.moves, row.fx)
    total = shown.fx if kind == "fx" else shown.moves[kind]
    lines = revenue_detail.shown_lines(
        revenue_detail.movement_lines(snap, index, kind), total, kind
    )
    context |= {
        "snap": snap,
        "row": row,
        "bridge": shown,
        "kind": kind,
        "kind_name": KIND_NAMES[kind],
        "lines": lines,
        "total": total,
        "count": len(lines),
        "losing": kind in ("contraction", "churn"),
        "siblings": [
            (k, name, movement_url(choice, row.month, k)) for k, name in KIND_NAMES.items()
        ],
    }
    return render(request, "web/revenue/movements.html", context)


# --- /revenue/cohorts/ ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HeatCell:
    share: Fraction | None
    shade: int
    title: str


@dataclass(frozen=True)
class HeatRow:
    month: date
    customers: int
    start_mrr: Fraction
    cells: list[HeatCell]


def heat(share: Fraction | None) -> int:
    """0-10: how dark the cell is (100 % and above are the darkest)."""
    if share is None:
        return 0
    return max(0, min(10, round(float(share) * 10)))


def cohort_rows(snap: Snapshot, revenue_view: bool) -> list[HeatRow]:
    rows = []
    for cohort in snap.cohorts:
        cells = []
        for k in range(len(cohort.retained)):
            share = cohort.revenue_retention(k) if revenue_view else cohort.customer_retention(k)
            what = (
                f"{float(share) * 100:.1f} % of their first month's MRR"
                if revenue_view and share is not None
                else f"{cohort.retained[k]} of {cohort.customers} paying"
            )
            cells.append(HeatCell(share, heat(share), f"{cohort.month:%b %Y}, month {k}: {what}"))
        rows.append(HeatRow(cohort.month, cohort.customers, cohort.mrr[0], cells))
    return rows


@staff_required
@require_GET
def cohorts_page(request: HttpRequest) -> HttpResponse:
    choice = choice_of(request)
    context = _base(request, choice, "revenue_cohorts")
    snap, problem = _load(choice)
    if snap is None:
        return _empty(request, context, problem)
    width = max((len(c.retained) for c in snap.cohorts), default=0)
    context |= {
        "snap": snap,
        "customers": cohort_rows(snap, revenue_view=False),
        "revenue": cohort_rows(snap, revenue_view=True),
        "offsets": list(range(width)),
    }
    return render(request, "web/revenue/cohorts.html", context)


# --- /revenue/forecast/ ---------------------------------------------------------------------------


@staff_required
@require_GET
def forecast_page(request: HttpRequest) -> HttpResponse:
    choice = choice_of(request)
    context = _base(request, choice, "revenue_forecast")
    snap, problem = _load(choice)
    if snap is None:
        return _empty(request, context, problem)
    try:
        ahead = snap.forecast
    except ForecastInputError as error:
        ahead, problem = None, str(error)
    history = snap.rows[: snap.complete + 1]
    context |= {
        "snap": snap,
        "forecast": ahead,
        "problem": problem,
        "chart": revenue_charts.forecast_chart(history, ahead) if ahead else None,
        # Churn already scheduled that the forecast counts, month by month.
        "scheduled": [
            (point.month, amount)
            for point, amount in zip(ahead.points, ahead.scheduled, strict=False)
            if amount
        ]
        if ahead
        else [],
        "history": history[-6:],
        "history_months": sum(1 for row in history if row.end > 0),
    }
    return render(request, "web/revenue/forecast.html", context)


# --- /revenue/risk/ -------------------------------------------------------------------------------


@staff_required
@require_GET
def risk_page(request: HttpRequest) -> HttpResponse:
    choice = choice_of(request)
    context = _base(request, choice, "revenue_risk")
    snap, problem = _load(choice)
    if snap is None:
        return _empty(request, context, problem)
    scored = snap.at_risk
    context |= {
        "snap": snap,
        "at_risk": scored[:RISK_SHOWN],
        "scored": len(scored),
        "leaving": snap.leaving,
        "source": scored[0].source if scored else "prior",
    }
    return render(request, "web/revenue/risk.html", context)


# --- /revenue/insights/ --------------------------------------------------------------------------


@staff_required
@require_GET
def insights_page(request: HttpRequest) -> HttpResponse:
    choice = choice_of(request)
    context = _base(request, choice, "revenue_insights")
    snap, problem = _load(choice)
    if snap is None:
        return _empty(request, context, problem)
    context |= {"snap": snap, "insights": revenue_insights.insights_of(snap)}
    return render(request, "web/revenue/insights.html", context)


# --- the customer page's revenue card -------------------------------------------------------------


@dataclass(frozen=True)
class CustomerCard:
    mrr: Fraction
    first: date
    last: date
    spark: str
    peak: Fraction
    width: int = SPARK_WIDTH
    height: int = SPARK_HEIGHT


@dataclass(frozen=True)
class LeftOutCard:
    """The customer is left out of the figures: why, instead of a wrong (zero) MRR."""

    reasons: tuple[str, ...]


def customer_card(customer_id: int) -> CustomerCard | LeftOutCard | None:
    """Their MRR now and month by month, when they have billing in the shown mode."""
    livemode = bool(settings.STRIPE_LIVEMODE)
    keys = revenue_detail.keys_of(customer_id, livemode)
    if not keys:
        return None
    try:
        snap = revenue.snapshot(livemode)
    except RevenueInputError:
        return None  # the revenue page says why; the customer page stays usable
    if snap is None:
        return None
    reasons = tuple(r for item in snap.left_out if item.who.key in keys for r in item.reasons)
    if reasons:
        return LeftOutCard(reasons)
    own = revenue_detail.customer_revenue(snap, keys)
    if not own.ever_paid:
        return None
    first = next(i for i, value in enumerate(own.mrr) if value > 0)
    values = [float(v) for v in own.mrr[first:]]
    return CustomerCard(
        own.now,
        own.months[first],
        own.months[-1],
        polyline(values, SPARK_WIDTH, SPARK_HEIGHT),
        max(own.mrr),
    )
