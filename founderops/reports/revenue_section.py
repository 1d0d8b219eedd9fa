"""The "Revenue" section of the briefings: MRR and the last full day's movements, the customers
most at risk, failed payments.

Revenue is counted in whole UTC days (the engine's unit), so the section reports the last full
UTC day before the window ends, whatever the founder's zone; failed payments are counted over
the window itself, like the other sections' events. Without billing data in the mode the
numbers use (FOUNDEROPS_STRIPE_LIVEMODE) the section is empty and the briefing leaves it out.
Customers whose records cannot be counted are named on a line of their own, right under MRR.

Everything in it is what was known when the window ended, so a briefing rebuilt later for a
past day (`brief morning --date`) says what that day's briefing would have said: refunds,
cancellations, voids, payments and failures after the window's end are not in it.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import TYPE_CHECKING

from django.conf import settings

from founderops.reports import revenue, revenue_detail
from founderops.reports.revenue_text import dollars, native, signed, whole_dollars
from founderops.revenue import rounding
from founderops.revenue.billing import RevenueInputError
from founderops.revenue.engine import MOVEMENTS

if TYPE_CHECKING:
    from founderops.reports.briefing import Window

AT_RISK_SHOWN = 3
LEAVING_SHOWN = 3
FAILED_SHOWN = 3
LOSSES = rounding.LOSSES


def render(window: Window) -> str:
    livemode = bool(settings.STRIPE_LIVEMODE)
    if not revenue.has_billing(livemode):
        return ""
    as_of = window.end.astimezone(UTC).date() - timedelta(days=1)
    try:
        snap = revenue.snapshot(livemode, as_of=as_of, known_at=window.end)
    except RevenueInputError as error:
        return f"- **MRR:** cannot be computed: {error}"
    if snap is None:
        return ""
    lines = [
        *mrr_lines(snap),
        *left_out_lines(snap),
        *risk_lines(snap),
        *failure_lines(snap, window),
    ]
    return "\n".join(lines)


def mrr_lines(snap: revenue.Snapshot) -> list[str]:
    day = revenue_detail.last_day(snap)
    head = snap.headline
    label = f"{day.day:%a} {day.day.day} {day.day:%b}"
    return [
        f"- **MRR:** {dollars(day.mrr)} at the close of {label} (UTC) · ARR "
        f"{whole_dollars(12 * day.mrr)} · {head.customers} paying "
        + ("customer" if head.customers == 1 else "customers"),
        f"- **Movements on {label}:** {movements(day)}",
    ]


def left_out_lines(snap: revenue.Snapshot) -> list[str]:
    """The customers the figures above are without, right under them (never silently)."""
    text = revenue.left_out_text(snap.left_out)
    return [f"- **Left out:** {text}"] if text else []


def movements(day: revenue_detail.Day) -> str:
    """The day's movements and their net, rounded so the shown ones add up to the net and
    lead to the MRR shown (the day's bridge, `rounding.month_bridge`)."""
    net = sum(-day.moves[k] if k in LOSSES else day.moves[k] for k in MOVEMENTS) + day.fx
    shown = rounding.month_bridge(day.mrr - net, day.moves, day.fx)
    parts = [
        f"{kind} {signed(shown.signed(kind))} ({day.counts[kind]})"
        for kind in MOVEMENTS
        if day.moves[kind]
    ]
    if day.fx:
        parts.append(f"FX {signed(shown.fx)}")
    if not parts:
        return "none"
    return " · ".join(parts) + f" · net {signed(shown.net)}"


def risk_lines(snap: revenue.Snapshot) -> list[str]:
    out = []
    top = snap.at_risk[:AT_RISK_SHOWN]
    if top:
        items = "; ".join(
            f"{r.who.name} {r.probability:.0%} ({dollars(r.mrr)}/mo"
            + (f": {', '.join(r.reasons)})" if r.reasons else ")")
            for r in top
        )
        out.append(f"- **Most at risk:** {items}")
    leaving = snap.leaving[:LEAVING_SHOWN]
    if leaving:
        items = "; ".join(
            f"{item.who.name} ({dollars(item.mrr)}/mo"
            + (f", ends {item.ends:%a} {item.ends.day} {item.ends:%b})" if item.ends else ")")
            for item in leaving
        )
        more = len(snap.leaving) - len(leaving)
        out.append(f"- **Leaving at period end:** {items}" + (f" and {more} more" if more else ""))
    return out


def failure_lines(snap: revenue.Snapshot, window: Window) -> list[str]:
    failed = revenue_detail.failed_between(snap.livemode, window.start, window.end)
    unpaid = revenue_detail.unpaid_after_failure(snap.livemode, snap.known_at)
    shown = "; ".join(
        f"{revenue.who(snap, p.detail).name} {native(p.amount, p.currency)}"
        + (f" (invoice {p.invoice})" if p.invoice else "")
        for p in failed[:FAILED_SHOWN]
    )
    line = f"- **Failed payments:** {len(failed)} in the window" + (f": {shown}" if shown else "")
    return [line + unpaid_text(snap, unpaid)] if unpaid else [line]


def unpaid_text(snap: revenue.Snapshot, unpaid: list[tuple[str, str, int, str]]) -> str:
    due = ", ".join(
        f"{revenue.who(snap, key).name} {native(amount, currency)}"
        for key, _, amount, currency in unpaid[:FAILED_SHOWN]
    )
    more = ", …" if len(unpaid) > FAILED_SHOWN else ""
    invoices = "invoice" if len(unpaid) == 1 else "invoices"
    return f" · {len(unpaid)} {invoices} still unpaid after a failed payment ({due}{more})"
