"""Small template helpers for the cockpit. Nothing here marks user text safe unsanitised."""

from __future__ import annotations

import markdown as md
import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe

from founderops.support import services
from founderops.support.models import Ticket
from founderops.web import access

register = template.Library()


@register.simple_tag(takes_context=True)
def pending_count(context: template.Context) -> int:
    """Approvals waiting, for the nav; a page that counted them already (home) passes its
    count as `pending_total`, so the nav asks no second time."""
    counted = context.get("pending_total")
    return counted if isinstance(counted, int) else access.pending_count()


@register.filter
def percent(value: object) -> str:
    """0.834 -> '83%'; anything that is not a number -> '—'."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "—"
    return f"{value * 100:.0f}%"


@register.filter
def score(value: object) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "—"
    return f"{value:.2f}"


@register.filter
def status_label(value: object) -> str:
    """A ticket status as stored in a payload ('escalated') as the founder reads it."""
    try:
        return str(Ticket.Status(str(value)).label)
    except ValueError:
        return str(value)


@register.filter
def intent_label(value: object) -> str:
    if value == services.UNKNOWN_INTENT:
        return "unknown request"
    return str(value) if value else "—"


# Images (and the image maps that need them) would load from wherever the article points
# each time the founder opens a page: a tracking pixel. The rest of nh3's tags load nothing.
_REMOTE = {"img", "map", "area"}
_TAGS = nh3.ALLOWED_TAGS - _REMOTE
_ATTRIBUTES = {tag: names for tag, names in nh3.ALLOWED_ATTRIBUTES.items() if tag not in _REMOTE}


@register.filter
def markdown(text: str) -> SafeString:
    """Render a knowledge-base answer: Markdown to HTML, then sanitised by nh3 (no images)."""
    html = md.markdown(text or "", extensions=["sane_lists"], output_format="html")
    clean = nh3.clean(
        html, tags=_TAGS, attributes=_ATTRIBUTES, link_rel="noopener noreferrer nofollow"
    )
    return mark_safe(clean)  # noqa: S308
