"""Money and rates as the revenue pages show them (reports.revenue_text does the writing).
Amounts arrive in cents; an undefined rate (no customers at the start, no churn) is a dash."""

from __future__ import annotations

from fractions import Fraction

from django import template

from founderops.reports import revenue_text as text
from founderops.revenue.report import half_up

register = template.Library()


def _number(value: object) -> Fraction | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Fraction):
        return None
    return Fraction(value)


@register.filter
def usd(value: object) -> str:
    """Cents -> "$1,234.56"."""
    cents = _number(value)
    return text.DASH if cents is None else text.dollars(cents)


@register.filter
def usd0(value: object) -> str:
    """Cents -> "$1,235" (whole dollars, for big headline figures)."""
    cents = _number(value)
    return text.DASH if cents is None else text.whole_dollars(cents)


@register.filter
def signed_usd(value: object) -> str:
    """Cents -> "+$12.00", or with a minus sign when negative."""
    cents = _number(value)
    return text.DASH if cents is None else text.signed(cents)


@register.filter
def pct(value: object) -> str:
    """A share (0.0379) -> "3.8 %"."""
    return text.percent(_number(value))


@register.filter
def pct0(value: object) -> str:
    """A share -> "96%" (whole percent, tight: the cohort tables have many cells)."""
    return text.percent(_number(value), 0).replace(" %", "%")


@register.filter
def ratio(value: object) -> str:
    number = _number(value)
    return text.DASH if number is None else half_up(number, 2)


@register.filter
def native(cents: object, currency: str) -> str:
    """An amount in its own currency: "€27.00"."""
    amount = _number(cents)
    return text.DASH if amount is None else text.native(amount, currency)


@register.filter
def is_zero(value: object) -> bool:
    return _number(value) == 0
