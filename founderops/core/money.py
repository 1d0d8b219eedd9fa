"""Money as integer minor units plus an ISO-4217 currency."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

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


# Currencies whose minor unit is a thousandth (Stripe's three-decimal list): 5124 KWD minor units
# are 5.124 dinars. Stripe charges them only in multiples of 10 (the card networks' rule).
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


# ISO 4217's active currency codes (2024 list, funds and precious metals left out): a code
# outside it, such as a typo "UDS", is refused on arrival rather than counted as a currency.
ISO_4217 = frozenset(
    {
        "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
        "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
        "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD",
        "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF", "GTQ",
        "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD", "JOD",
        "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR",
        "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
        "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN",
        "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR",
        "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL",
        "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU",
        "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER", "ZAR",
        "ZMW", "ZWG", "ZWL",
    }
)  # fmt: skip


def is_currency(code: str) -> bool:
    """Whether `code` (any case) is an ISO 4217 currency in use."""
    return code.upper() in ISO_4217


def exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit (0 for JPY, 2 for USD, 3 for KWD)."""
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return 0
    return 3 if code in THREE_DECIMAL else 2


def to_minor(amount: Decimal, currency: str) -> int:
    """`amount` in whole units as minor units; more decimals than the currency has is refused."""
    places = exponent(currency)
    minor = amount.scaleb(places)
    if not minor.is_finite() or minor != minor.to_integral_value():
        noun = "no decimals" if places == 0 else f"at most {places} decimals"
        raise InvalidInput(f"{amount} {currency.upper()}: {currency.upper()} amounts have {noun}")
    return int(minor)


def to_major(minor: int, currency: str) -> Decimal:
    """Minor units as an exact amount in whole units (4900 JPY -> 4900, 1250 USD -> 12.50)."""
    places = exponent(currency)
    return Decimal(minor).scaleb(-places).quantize(Decimal(1).scaleb(-places))


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
        return f"{to_major(self.minor, self.currency):,} {self.currency}"
