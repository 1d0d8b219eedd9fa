"""Turning what customers send into clean text."""

from __future__ import annotations

import html
import re
import unicodedata

from founderops.core.errors import InvalidInput

_TAG = re.compile(r"<[^>]+>")
_BLOCK = re.compile(r"</?(p|div|br|li|tr|h[1-6])[^>]*>", re.IGNORECASE)
_SCRIPT = re.compile(r"<(script|style)[^>]*>.*?</\1>", re.IGNORECASE | re.DOTALL)
_SPACES = re.compile(r"[ \t\f\v\xa0]+")
_NEWLINES = re.compile(r"\n{3,}")


def looks_like_html(text: str) -> bool:
    return bool(re.search(r"<(html|body|p|div|br|span|table)\b", text, re.IGNORECASE))


def html_to_text(text: str) -> str:
    text = _SCRIPT.sub(" ", text)
    text = _BLOCK.sub("\n", text)
    return html.unescape(_TAG.sub(" ", text))


def decode(raw: bytes) -> str:
    """Bytes in UTF-8 (with or without BOM), UTF-16 with BOM, or else Windows-1252."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


# Bidirectional overrides (which can disguise text) and stray byte-order marks.
_HIDDEN = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")


def _is_control(ch: str) -> bool:
    # Control characters and lone surrogates (which no database can store); other format
    # characters such as the zero-width non-joiner stay: Persian and Indic writing needs them.
    return unicodedata.category(ch) in {"Cc", "Cs"} or ch in _HIDDEN


def clean_line(text: str, max_chars: int) -> str:
    """One line of plain text (a subject, a name): no tags, no control characters."""
    if "<" in text:
        text = html.unescape(_TAG.sub("", _SCRIPT.sub("", text)))
    text = "".join(" " if _is_control(ch) else ch for ch in text)
    return " ".join(text.split())[:max_chars]


def clean_body(text: str, max_chars: int) -> str:
    if looks_like_html(text):
        text = html_to_text(text)
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or not _is_control(ch))
    text = "\n".join(line.strip() for line in _SPACES.sub(" ", text).split("\n"))
    text = _NEWLINES.sub("\n\n", text).strip()
    if not text:
        raise InvalidInput("the message body is empty")
    if len(text) > max_chars:
        raise InvalidInput(
            f"the message body has {len(text):,} characters; the limit is "
            f"{max_chars:,} (FOUNDEROPS_SUPPORT_MAX_BODY_CHARS)"
        )
    return text
