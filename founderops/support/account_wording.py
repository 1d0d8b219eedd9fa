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

from founderops.core.money import THREE_DECIMAL, exponent

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
    | THREE_DECIMAL
)
_UNIT = "|".join(sorted(_CODES)) + "|dollars?|euros?|pounds"
# Anything that looks like money, read loosely: a sign with whatever follows it, a currency
# code with a number, a number with a sign or a currency after it. Each such token must then
# read exactly, or the amount is unclear and a person decides (money moves on this figure).
_LOOSE = re.compile(
    rf"(?P<sign>[$€£¥])\s?(?P<signed>[^\s/]*)|"
    rf"\b(?P<code>{_UNIT})\s?(?P<coded>[-+]?[\d.,]\S*)|"
    rf"(?P<number>[-+]?\d[\d.,]*)\s?(?:(?P<sign2>[$€£¥])|(?P<code2>{_UNIT})\b)",
    re.IGNORECASE,
)
_TRAILING = ".,;:!?)"
# 12 / 12.50 / 12,50 / 1,200 / 1,200.50 / 1.200.000 / 1.200,50 (a lone ".200" is ambiguous:
# twelve hundred in Berlin, 1.2 dollars nowhere, so it is not read).
_PLAIN = re.compile(r"^(\d+)(?:[.,](\d{1,2}))?$")
_COMMAS = re.compile(r"^(\d{1,3}(?:,\d{3})+)(?:\.(\d{1,2}))?$")
# "1.500 KWD" is one and a half dinars: only a three-decimal currency reads three decimals.
_THOUSANDTHS = re.compile(r"^(\d+)\.(\d{3})$")
_DOTS = re.compile(r"^(\d{1,3}(?:\.\d{3}){2,})(?:,(\d{1,2}))?$|^(\d{1,3}\.\d{3}),(\d{1,2})$")
# "Refund half", "20 %", "the difference": part of a charge, for a person to work out.
_PARTIAL = re.compile(
    r"%|\b(half|partial(ly)?|part of|percent|the difference|difference between|some of)\b",
    re.IGNORECASE,
)
# "Do NOT refund", "don't cancel": the word is there, the request is not.
_NEGATED = {
    REFUND: re.compile(
        r"\b(do not|don'?t|dont|never|not|no need to|no)\s+(\w+\s+){0,2}?refund", re.IGNORECASE
    ),
    CREDIT: re.compile(r"\b(do not|don'?t|dont|never|not|no)\s+(\w+\s+){0,2}?credit", re.I),
    INVOICE_COPY: re.compile(
        r"\b(do not|don'?t|dont|never|no need to)\s+(\w+\s+){0,3}?(invoice|receipt)", re.I
    ),
    CANCEL: re.compile(
        r"\b(do not|don'?t|dont|never|not)\s+(want to |wish to |to )?cancel", re.IGNORECASE
    ),
}


class Unclear(str):
    """Why the amount could not be read exactly (a person decides)."""


Reading = tuple[int, str] | Unclear | None


@dataclass(frozen=True)
class Ask:
    """One action the customer asks for; amount in minor units when they named one."""

    kind: str
    amount: int | None = None
    currency: str = ""
    # Why the request cannot be acted on as read ("the amount is unclear…"); "" when it can.
    unclear: str = ""
    # The intent the request was read from when the words do not ask outright; "" when they do.
    via_intent: str = ""

    @property
    def how(self) -> str:
        """How the customer asked, for the founder: "asked for explicitly"."""
        if self.via_intent:
            return f"read from the ticket's intent ({self.via_intent})"
        return "asked for explicitly"


def asked(intent: str, text: str) -> list[Ask]:
    """The account actions the ticket asks for (none, one, or several for a person)."""
    if _HOW_TO.search(text) and not _PLEASE.search(text):
        return []
    kinds = [kind for kind in KINDS if _WORDING[kind].search(text)]
    topic = INTENT_KINDS.get(intent)
    if topic and topic not in kinds:
        kinds.append(topic)
    kinds = [kind for kind in kinds if not _NEGATED[kind].search(text)]
    worded = {kind for kind in KINDS if _WORDING[kind].search(text)}
    return [_ask(kind, text, "" if kind in worded else intent) for kind in kinds]


def _ask(kind: str, text: str, via_intent: str = "") -> Ask:
    if kind not in (REFUND, CREDIT):
        return Ask(kind, via_intent=via_intent)
    money = read_amount(text)
    if isinstance(money, Unclear):
        return Ask(kind, unclear=str(money), via_intent=via_intent)
    if money is None and kind == REFUND and _PARTIAL.search(text):
        why = "the customer asks for part of a charge without an exact amount"
        return Ask(kind, unclear=why, via_intent=via_intent)
    amount, currency = money if money else (None, "")
    return Ask(kind, amount, currency, via_intent=via_intent)


def amount_in(text: str) -> tuple[int, str] | None:
    """The one amount with a currency in the text, in minor units (None if unclear)."""
    money = read_amount(text)
    return None if isinstance(money, Unclear) else money


def read_amount(text: str) -> Reading:
    """The amount the text names: None without one; Unclear when a money-like figure does not
    read exactly, is not positive, or when two different amounts are named."""
    found: set[tuple[int, str]] = set()
    for match in _LOOSE.finditer(text):
        currency = _currency(match)
        figure = match.group("signed") or match.group("coded") or match.group("number") or ""
        minor = _minor(figure.rstrip(_TRAILING), currency)
        if minor is None or minor <= 0:
            return Unclear(f"the amount {match.group(0).strip()!r} is unclear")
        found.add((minor, currency))
    if len(found) > 1:
        named = ", ".join(sorted(f"{m} {c}" for m, c in found))
        return Unclear(f"several amounts are named ({named} in minor units)")
    return found.pop() if found else None


def _currency(match: re.Match[str]) -> str:
    sign = match.group("sign") or match.group("sign2")
    if sign:
        return _SIGNS[sign]
    word = (match.group("code") or match.group("code2") or "").lower()
    return word.upper() if word.upper() in _CODES else _WORDS.get(word, "USD")


def _minor(figure: str, currency: str) -> int | None:
    patterns = (_PLAIN, _COMMAS, _DOTS)
    for pattern in (_THOUSANDTHS, *patterns) if exponent(currency) == 3 else patterns:
        parts = pattern.match(figure)
        if parts:
            groups = [g for g in parts.groups() if g is not None]
            whole = groups[0].replace(",", "").replace(".", "")
            return minor_units(whole, groups[1] if len(groups) > 1 else "", currency)
    return None


def minor_units(whole: str, fraction: str, currency: str) -> int | None:
    """Minor units of `whole`.`fraction`; None when the fraction has more digits than the
    currency's minor unit (a yen amount with cents)."""
    places = exponent(currency)
    if len(fraction) > places:
        return None
    scale: int = 10**places
    return int(whole) * scale + int(fraction.ljust(places, "0") or 0)
