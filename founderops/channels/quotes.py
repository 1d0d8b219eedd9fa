"""What the customer wrote this time: quoted history and signatures removed from a reply.

A reply carries the whole conversation below (or around) it; the ticket needs only the new
text, or the agent would classify our own previous answer. The rules cover the common
clients: `>` lines, "On … wrote:" headers in the usual languages (also wrapped over two or
three lines, as Gmail does), Outlook's "-----Original Message-----" and "From: … Sent: …"
blocks, Gmail/Apple/Thunderbird/Yahoo quote elements in HTML, and signatures after "-- ".
When stripping would leave nothing (a forward, a mail that is all quote) the full text is
kept: losing what a customer sent is worse than showing too much.
"""

from __future__ import annotations

import re

from founderops.channels.mime import html_to_text

# "On Mon, 5 Jan 2026 at 10:00, Ada <ada@example.com> wrote:" and its translations: the
# opening word, then anything holding a date or an address, then the verb.
_ATTRIBUTION = re.compile(
    r"^(?:"
    r"On\s.+\swrote"  # English
    r"|Le\s.+\sa\s+écrit"  # French
    r"|Am\s.+\sschrieb.*"  # German
    r"|El\s.+\sescribió"  # Spanish
    r"|Il\s.+\sha\s+scritto"  # Italian
    r"|Em\s.+\sescreveu"  # Portuguese
    r"|Op\s.+\sschreef.*"  # Dutch
    r"|Den\s.+\sskrev.*"  # Swedish, Danish, Norwegian
    r"|W\s+dniu\s.+\s(?:napisał|napisała|pisze).*"  # Polish
    r"|Dne\s.+\snapsal.*"  # Czech
    r"|.+\s(?:пишет|написал|написала|kirjoitti|yazd\u0131)"  # Russian, Finnish, Turkish
    r"|.+(?:写道|が書きました|님이\s*작성)"  # Chinese, Japanese, Korean
    r")\s*[:\uff1a]$",  # a colon, or the full-width one of CJK text
    re.IGNORECASE,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^-{2,}\s*(?:Original Message|Ursprüngliche Nachricht|Message d'origine"
    r"|Mensaje original|Messaggio originale|Oorspronkelijk bericht|Mensagem original"
    r"|Originalmeddelande|Oryginalna wiadomość|Исходное сообщение)\s*-{2,}$",
    re.IGNORECASE,
)
# Outlook's header block: "From:" and, within the next lines, "Sent:" (or "Date:").
_FROM = re.compile(r"^\*?(?:From|Von|De|Da|Van|Från|Od|От)\s*:\*?\s*\S", re.IGNORECASE)
_SENT = re.compile(
    r"^\*?(?:Sent|Date|Gesendet|Datum|Envoyé|Enviado|Enviada|Fecha|Inviato|Data|Verzonden"
    r"|Skickat|Wysłano|Отправлено)\s*:",
    re.IGNORECASE,
)
_RULE = re.compile(r"^_{10,}$")
_SIGNATURE = re.compile(r"^--\s?$")
_MOBILE_FOOTER = re.compile(
    r"^(?:Sent from my \w+|Sent from (?:Mail|Outlook) for \w+|Get Outlook for \w+"
    r"|Envoyé de mon \w+|Von meinem \w+ gesendet|Enviado desde mi \w+)\b.*$",
    re.IGNORECASE,
)
HEADER_LOOKAHEAD = 4


def reply_text(plain: str | None, html: str | None) -> str:
    """The new part of a mail: from its plain-text body, else from its HTML."""
    if plain is not None and plain.strip():
        return strip_quotes(plain)
    if html is not None:
        stripped = strip_quotes(html_to_text(html, drop=is_quote_element))
        return stripped or strip_quotes(html_to_text(html))
    return ""


def is_quote_element(tag: str, attributes: dict[str, str]) -> bool:
    """HTML elements that hold quoted history or a signature, by the clients that mark them."""
    classes = set(attributes.get("class", "").split())
    if tag == "blockquote" and attributes.get("type", "").lower() == "cite":
        return True  # Apple Mail, Thunderbird
    marked = {
        "gmail_quote",
        "gmail_quote_container",
        "gmail_signature",
        "gmail_extra",
        "yahoo_quoted",
        "protonmail_quote",
        "moz-cite-prefix",
        "moz-signature",
    }
    return bool(classes & marked) or attributes.get("id", "") in {"Signature", "signature"}


def strip_quotes(text: str) -> str:
    """`text` without quoted lines, reply headers and what follows them, or the signature."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = _cut(lines)
    result = "\n".join(_drop_trailing(kept)).strip()
    return result or text.strip()


def _cut(lines: list[str]) -> list[str]:
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        if line.startswith(">"):
            index += 1
            continue
        header_end = _attribution_end(lines, index)
        if header_end is not None:
            if not _quote_follows(lines, header_end):
                return kept  # unquoted history below the header: the reply is above
            index = header_end
            continue
        if _ORIGINAL_MESSAGE.match(line) or _outlook_header(lines, index):
            return kept
        if _SIGNATURE.match(lines[index].rstrip("\n")) and kept:
            return kept
        kept.append(lines[index])
        index += 1
    return kept


def _attribution_end(lines: list[str], index: int) -> int | None:
    """When an "On … wrote:" header starts at `index`: the index just after it."""
    joined = ""
    for offset in range(3):
        if index + offset >= len(lines):
            return None
        part = lines[index + offset].strip()
        if not part or part.startswith(">"):
            return None
        joined = f"{joined} {part}".strip()
        if re.search(r"[\d@]", joined) and _ATTRIBUTION.match(joined):
            return index + offset + 1
    return None


def _quote_follows(lines: list[str], start: int) -> bool:
    """Whether the first non-empty line from `start` is a `>` quote (a bottom-posted reply)."""
    for line in lines[start:]:
        if line.strip():
            return line.strip().startswith(">")
    return False


def _outlook_header(lines: list[str], index: int) -> bool:
    """A "From: …" line followed closely by "Sent: …": the start of Outlook's history."""
    line = lines[index].strip()
    if _RULE.match(line):
        following = [candidate.strip() for candidate in lines[index + 1 : index + 3]]
        return any(_FROM.match(candidate) for candidate in following)
    if not _FROM.match(line):
        return False
    window = lines[index + 1 : index + 1 + HEADER_LOOKAHEAD]
    return any(_SENT.match(candidate.strip()) for candidate in window)


def _drop_trailing(lines: list[str]) -> list[str]:
    """Without trailing blank lines and a phone's "Sent from my iPhone" footer."""
    trimmed = list(lines)
    while trimmed and (not trimmed[-1].strip() or _MOBILE_FOOTER.match(trimmed[-1].strip())):
        trimmed.pop()
    return trimmed
