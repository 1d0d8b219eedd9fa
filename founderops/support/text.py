"""Turning what customers send into clean text."""

from __future__ import annotations

import html
import re
import unicodedata

from founderops.core.errors import InvalidInput

_TAG = re.compile(r"<[^>]+>")
_BLOCK = re.compile(r"</?(p|div|br|li|tr|h[1-6])[^>]*>", re.IGNORECASE)
_SCRIPT = re.compile(r"<(script|style)[^>]*>.*?</\1>", re.IGNORECASE | re.DOTALL)
_SPACES = re.compile(r"[ \t\f\v]+")
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


def clean_body(text: str, max_chars: int) -> str:
    if looks_like_html(text):
        text = html_to_text(text)
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
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
