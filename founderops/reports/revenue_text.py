"""Money and rates in words, for the revenue pages and the briefing alike.

Amounts are cents (the engine's exact fractions, or a Stripe object's integer minor units);
a single figure is rounded half-up here, the engine's own rule for writing figures out. Figures
that must add up (a bridge row, a movement's customers) are rounded together first, by
`revenue.rounding`, and arrive here in whole cents.
"""

from __future__ import annotations

from fractions import Fraction

from founderops.core.money import exponent
from founderops.revenue.report import half_up, money

MINUS = "\N{MINUS SIGN}"
DASH = "—"
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def grouped(text: str) -> str:
    """ "1234.56" -> "1,234.56"."""
    whole, _, part = text.partition(".")
    return f"{int(whole):,}" + (f".{part}" if part else "")


def dollars(cents: Fraction | float) -> str:
    """ "$1,234.56"; a negative amount with a minus sign (none when it rounds to zero)."""
    text = grouped(money(abs(Fraction(cents))))
    return f"{MINUS}${text}" if cents < 0 and text.strip("0.,") else f"${text}"


def whole_dollars(cents: Fraction | float) -> str:
    text = grouped(half_up(abs(Fraction(cents)) / 100, 0).split(".")[0])
    return f"{MINUS}${text}" if cents < 0 and text != "0" else f"${text}"


def signed(cents: Fraction | int) -> str:
    """ "+$12.00", or with a minus sign."""
    value = Fraction(cents)
    return ("+" if value >= 0 else MINUS) + "$" + grouped(money(abs(value)))


def native(cents: int | Fraction, currency: str) -> str:
    """An amount in its own minor units, in its currency: "€27.00", "12.00 CHF", "4,900 JPY",
    "5.124 KWD"."""
    code = str(currency or "").upper()
    places = exponent(code)
    text = grouped(half_up(abs(Fraction(cents)) / 10**places, places))
    if places == 0:
        text = text.split(".")[0]  # half_up writes one decimal even for none asked
    symbol = SYMBOLS.get(code, "")
    shown = f"{symbol}{text}" if symbol else f"{text} {code}"
    return f"{MINUS}{shown}" if cents < 0 else shown


def percent(share: Fraction | float | None, decimals: int = 1) -> str:
    """0.0379 -> "3.8 %"; an undefined rate -> a dash."""
    if share is None:
        return DASH
    text = half_up(Fraction(share) * 100, decimals)
    # half_up writes one decimal even for none asked ("96.0").
    return f"{text.split('.')[0] if decimals == 0 else text} %"
