"""What account action a ticket asks for, and for how much: read from the intent and the words.

The classifier's intent names the topic (refund_request, invoice_copy, cancel_subscription), but a
topic is not a request: "how do I cancel?" wants the article, "please cancel my plan" wants the
cancellation. So an intent counts unless the text only asks how or where; explicit wording
("please refund the last charge", "send me a copy of the invoice") counts on its own, which
also covers a knowledge base without such intents. Amounts count only when they carry a
currency ("$20", "20 EUR", "€12.50"): a bare number is a date, a count or a plan name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from founderops.core.money import ZERO_DECIMAL

REFUND, CREDIT, INVOICE_COPY, CANCEL = "refund", "credit", "invoice_copy", "cancel"
KINDS = (REFUND, CREDIT, INVOICE_COPY, CANCEL)
# The demo knowledge base's intents; a founder's own intents with these names work the same.
INTENT_KINDS = {
    "refund_request": REFUND,
    "invoice_copy": INVOICE_COPY,
    "cancel_subscription": CANCEL,
    "account_credit": CREDIT,
}
NOUNS = {
    REFUND: "refund",
    CREDIT: "account credit",
    INVOICE_COPY: "invoice copy",
    CANCEL: "cancellation",
}

_WORDING = {
    REFUND: re.compile(
        r"\b(refund (me|my|the|this|that|it|our|last)|please refund|get refunded|"
        r"(want|like|need|get|have)( a| my| the| our)?( full| partial)? refund|"
        r"(want|like|need|get|have) (my |our |the )?money back|"
        r"(that|the|this|my|last) (charge|payment) back|"
        r"reverse (the|that|this|my|yesterday's|last) (charge|payment))\b",
        re.IGNORECASE,
    ),
    CREDIT: re.compile(
        r"\b((want|like|need|get|have|give (me|us)|add)( an?| some)? (account )?credit\b|"
        r"credit (my|our) account|credit (to|on) (my|our) account)",
        re.IGNORECASE,
    ),
    INVOICE_COPY: re.compile(
        r"\b((send|resend|re-send|email|e-mail|forward)( me| us)?"
        r"( a| the| my| our| a copy of( the| my| our)?)?"
        r"( last| latest| recent| this month's| last month's)? (invoice|receipt)s?|"
        r"copy of (the |my |our )?(last |latest )?(invoice|receipt))\b",
        re.IGNORECASE,
    ),
    CANCEL: re.compile(
        r"\b(cancel (my|our|the) (subscription|plan|account)|please cancel|"
        r"(want|like|need) to cancel|stop my (subscription|plan|payments)|"
        r"end my subscription|turn off (auto[- ]?)?renewal|don'?t renew)\b",
        re.IGNORECASE,
    ),
}
# Asking how or where ("how do I get a refund?") wants the article, unless the customer also
# asks outright ("where is it? Please send me a copy").
_HOW_TO = re.compile(
    r"\b(how (do|can|to|would|should|could) (i|we)|how to|where (do|can|is|are|would)|"
    r"tell me (how|where)|is there|is it possible|what('s| is| are) (the|your))\b",
    re.IGNORECASE,
)
_PLEASE = re.compile(r"\b(please|pls|plz|kindly)\b", re.IGNORECASE)

_SIGNS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
_WORDS = {"dollar": "USD", "dollars": "USD", "euro": "EUR", "euros": "EUR", "pounds": "GBP"}
_CODES = frozenset(
    {"USD", "EUR", "GBP", "CAD", "AUD", "NZD", "CHF", "SEK", "NOK", "DKK"}
    | {"PLN", "CZK", "HUF", "JPY", "INR", "BRL", "MXN", "SGD", "HKD", "ZAR"}
)
_NUMBER = r"\d+(?:[.,]\d{1,2})?(?!\d)"
_AMOUNT = re.compile(
    rf"(?:(?P<sign>[$€£¥])\s?(?P<before>{_NUMBER}))|"
    rf"(?:(?P<after>{_NUMBER})\s?(?:(?P<sign2>[$€£¥])|(?P<code>[A-Za-z]{{3,7}})\b))",
)
# "1,000" and "1.000": thousands, not decimals.
_THOUSANDS = re.compile(r"(?<=\d)[,.](?=\d{3}(?!\d))")


@dataclass(frozen=True)
class Ask:
    """One action the customer asks for; amount in minor units when they named one."""

    kind: str
    amount: int | None = None
    currency: str = ""


def asked(intent: str, text: str) -> list[Ask]:
    """The account actions the ticket asks for (none, one, or several for a person)."""
    if _HOW_TO.search(text) and not _PLEASE.search(text):
        return []
    kinds = [kind for kind in KINDS if _WORDING[kind].search(text)]
    topic = INTENT_KINDS.get(intent)
    if topic and topic not in kinds:
        kinds.append(topic)
    money = amount_in(text)
    return [
        Ask(kind, *money) if money and kind in (REFUND, CREDIT) else Ask(kind) for kind in kinds
    ]


def amount_in(text: str) -> tuple[int, str] | None:
    """The first amount with a currency in the text, in minor units."""
    for match in _AMOUNT.finditer(_THOUSANDS.sub("", text)):
        currency = _currency(match)
        number = match.group("before") or match.group("after")
        if currency and number:
            return minor_units(number, currency), currency
    return None


def _currency(match: re.Match[str]) -> str:
    sign = match.group("sign") or match.group("sign2")
    if sign:
        return _SIGNS[sign]
    word = (match.group("code") or "").lower()
    if word.upper() in _CODES:
        return word.upper()
    return _WORDS.get(word, "")


def minor_units(number: str, currency: str) -> int:
    whole, _, fraction = number.replace(",", ".").partition(".")
    if currency in ZERO_DECIMAL:
        return int(whole)
    return int(whole) * 100 + int((fraction + "00")[:2])
