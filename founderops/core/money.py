"""Money as integer minor units plus an ISO-4217 currency."""

from __future__ import annotations

from dataclasses import dataclass

from founderops.core.errors import InvalidInput

# Currencies whose minor unit is the whole unit (Stripe's zero-decimal list): 4900 JPY is
# 4900 yen. ISK is deliberately not here: ISO 4217 gives it no decimals, but Stripe lists it
# as a special case and sends ISK amounts in two-decimal form (5 ISK is amount=500), and the
# Stripe store keeps Stripe's amounts as they come; so ISK counts in 1/100 krona like USD.
ZERO_DECIMAL = frozenset(
    {
        "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA",
        "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
    }
)  # fmt: skip


def exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit (0 for JPY, 2 for USD)."""
    return 0 if currency in ZERO_DECIMAL else 2


@dataclass(frozen=True)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if len(self.currency) != 3 or not self.currency.isalpha() or not self.currency.isupper():
            raise InvalidInput(
                f"currency must be an ISO-4217 code such as USD, got {self.currency!r}"
            )

    def __str__(self) -> str:
        if self.currency in ZERO_DECIMAL:
            return f"{self.minor} {self.currency}"
        sign = "-" if self.minor < 0 else ""
        whole, cents = divmod(abs(self.minor), 100)
        return f"{sign}{whole:,}.{cents:02d} {self.currency}"
