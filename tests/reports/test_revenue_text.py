"""Amounts in their own currency, written with that currency's decimals."""

from __future__ import annotations

from fractions import Fraction

from founderops.reports.revenue_text import native


def test_it_writes_a_two_decimal_amount_with_its_symbol() -> None:
    assert native(2700, "eur") == "€27.00"


def test_it_writes_yen_without_decimals() -> None:
    assert native(4900, "JPY") == "4,900 JPY"


def test_it_writes_dinars_with_three_decimals() -> None:
    assert native(5124, "KWD") == "5.124 KWD"


def test_it_rounds_an_exact_fraction_half_up_to_the_minor_unit() -> None:
    assert native(Fraction(-25, 2), "CHF") == "\N{MINUS SIGN}0.13 CHF"
