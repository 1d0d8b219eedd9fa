"""Money as integer minor units plus an ISO-4217 currency."""

from __future__ import annotations

from dataclasses import dataclass

from founderops.core.errors import InvalidInput

ZERO_DECIMAL = {"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF"}


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
