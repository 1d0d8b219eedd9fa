"""Reading an RFC 5322 e-mail: who wrote it, about what, in reply to what, and what it says.

Built on the standard library's `email` package with `policy.default`. Mail comes from
strangers, so every way the package can fail on broken input is turned into one documented
error, `MalformedMail`, whose message says what is wrong; nothing else escapes `parse_mail`.
Bodies are decoded leniently (an unknown charset or broken base64 still gives text); only a
mail with no usable sender, or one that cannot be read at all, is refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import errors as email_errors
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from founderops.core.errors import InvalidInput

# What the email package raises on input it cannot handle (its header parser has known
# IndexError and AttributeError bugs on garbage); RecursionError for absurd nesting.
PARSE_ERRORS: tuple[type[BaseException], ...] = (
    email_errors.MessageError,
    ValueError,
    LookupError,
    TypeError,
    AttributeError,
    RecursionError,
)
MAX_PARTS = 500
MAX_DEPTH = 20
MSGID_MAX = 500
HEADER_BLOCK_MAX = 256 * 1024
_MSGID_TOKEN = re.compile(r"<([^<>\s]+)>")
_ADDRESS = re.compile(r"^[^@\s<>\"(),;:\\\[\]]+@[^@\s<>\"(),;:\\\[\]]+\.[^@\s<>\"(),;:\\\[\]]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class MalformedMail(InvalidInput):
    """The mail cannot be read; the message says why (it is kept and shown as rejected)."""


@dataclass(frozen=True)
class Part:
    """One attached file as it came: its (unsanitised) name, type and decoded bytes."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class ParsedMail:
    message: Message
    sender: str
    sender_name: str
    subject: str
    date: datetime | None
    msgid: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    text: str | None
    html: str | None
    attachments: tuple[Part, ...] = ()
    defects: tuple[str, ...] = field(default=())

    def header(self, name: str) -> str:
        return header_value(self.message, name)

    @property
    def content_type(self) -> str:
        return self.message.get_content_type()

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Every Message-ID this mail answers, nearest first (In-Reply-To, then References)."""
        newest_first = (*self.in_reply_to, *reversed(self.references))
        return tuple(dict.fromkeys(newest_first))


@dataclass(frozen=True)
class Envelope:
    """What the headers alone say: enough to store a mail before reading its body."""

    msgid: str
    sender: str
    subject: str
    recipients: tuple[str, ...] = ()


RECIPIENT_HEADERS = ("delivered-to", "x-original-to", "to", "cc")


def parse_mail(raw: bytes) -> ParsedMail:
    """The mail's parts; MalformedMail (and nothing else) when it cannot be read."""
    if not raw.strip():
        raise MalformedMail("the mail is empty")
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        return _read(message)
    except PARSE_ERRORS as error:
        raise MalformedMail(
            f"the mail cannot be parsed ({type(error).__name__}: {error})"
        ) from None


def parse_envelope(raw: bytes) -> Envelope:
    """Message-ID, sender and subject from the header block; empty strings when unreadable."""
    try:
        message = BytesParser(policy=policy.default).parsebytes(header_block(raw))
    except PARSE_ERRORS:
        return Envelope("", "", "")
    sender, _ = _sender(message)
    return Envelope(
        normalise_msgid(header_value(message, "message-id")),
        sender,
        clean_header(header_value(message, "subject"))[:300],
        recipients(message),
    )


def recipients(message: Message) -> tuple[str, ...]:
    """The addresses the mail was delivered to, lower case, the delivery headers first."""
    values = [value for name in RECIPIENT_HEADERS for value in header_values(message, name)]
    found = (address.strip().lower() for _, address in getaddresses(values))
    return tuple(dict.fromkeys(address for address in found if valid_address(address)))


def header_block(raw: bytes) -> bytes:
    """The headers of a raw mail (up to the first empty line), at most HEADER_BLOCK_MAX."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    end = min(ends) if ends else len(raw)
    return raw[: min(end, HEADER_BLOCK_MAX)] + b"\r\n\r\n"


def _read(message: EmailMessage) -> ParsedMail:
    if _looks_headerless(message):
        raise MalformedMail("the mail has no header block (no 'Name: value' lines before the body)")
    sender, name = _sender(message)
    if not sender:
        raise MalformedMail("the mail has no readable sender address (From header)")
    leaves = list(_leaves(message, 0, [0]))
    text_part, html_part = _body_parts(message)
    return ParsedMail(
        message=message,
        sender=sender,
        sender_name=name,
        subject=clean_header(header_value(message, "subject"))[:300],
        date=_date(message),
        msgid=normalise_msgid(header_value(message, "message-id")),
        in_reply_to=msgid_list(header_value(message, "in-reply-to")),
        references=msgid_list(header_value(message, "references")),
        text=part_text(text_part) if text_part is not None else None,
        html=part_text(html_part) if html_part is not None else None,
        attachments=tuple(_attachments(leaves, {id(text_part), id(html_part)})),
        defects=tuple(type(d).__name__ for d in message.defects),
    )


def _looks_headerless(message: Message) -> bool:
    # A first line that is no header leaves the parser with no headers at all.
    return not message.keys()


# Headers.


def header_value(message: Message, name: str) -> str:
    """A header as text; a header the parser chokes on falls back to its raw value."""
    try:
        value = message.get(name)
        return "" if value is None else str(value)
    except PARSE_ERRORS:
        wanted = name.lower()
        for key, raw in message.raw_items():
            if key.lower() == wanted:
                return str(raw)
        return ""


def header_values(message: Message, name: str) -> list[str]:
    try:
        return [str(value) for value in message.get_all(name) or []]
    except PARSE_ERRORS:
        return [str(raw) for key, raw in message.raw_items() if key.lower() == name.lower()]


def clean_header(value: str) -> str:
    """One line: unfolded, without control characters."""
    return " ".join(_CONTROL.sub(" ", value).split())


def normalise_msgid(value: str) -> str:
    """The id inside `<…>` (or the bare token), "" when there is no usable id."""
    match = _MSGID_TOKEN.search(value)
    token = match.group(1) if match else (value.split() or [""])[0]
    token = token.strip("<>")
    if not token or len(token) > MSGID_MAX or _CONTROL.search(token):
        return ""
    return token


def msgid_list(value: str) -> tuple[str, ...]:
    """The ids of an In-Reply-To or References header, in order, without duplicates."""
    tokens = _MSGID_TOKEN.findall(value) or value.split()
    ids = (normalise_msgid(token) for token in tokens)
    return tuple(dict.fromkeys(i for i in ids if i))


def valid_address(address: str) -> bool:
    return len(address) <= 254 and bool(_ADDRESS.match(address))


def _sender(message: Message) -> tuple[str, str]:
    """The From address (lower case) and display name; ("", "") when there is none."""
    raw = header_value(message, "from")
    try:
        header = message.get("from")
        addresses = getattr(header, "addresses", ()) if header is not None else ()
        if addresses:
            address = addresses[0]
            return _checked(address.addr_spec, clean_header(address.display_name))
    except PARSE_ERRORS:
        pass  # the structured parse failed; the plain parse below reads the raw value
    name, address_text = parseaddr(raw)
    return _checked(address_text, clean_header(name))


def _checked(address: str, name: str) -> tuple[str, str]:
    address = address.strip().lower()
    return (address, name[:200]) if valid_address(address) else ("", "")


def _date(message: Message) -> datetime | None:
    try:
        header = message.get("date")
        moment = getattr(header, "datetime", None) if header is not None else None
    except PARSE_ERRORS:
        return None
    if not isinstance(moment, datetime):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# Bodies and attachments.


def _leaves(part: Message, depth: int, count: list[int]) -> Iterator[Message]:
    """Every non-multipart part, depth first; refuses absurd nesting and part counts."""
    count[0] += 1
    if count[0] > MAX_PARTS:
        raise MalformedMail(f"the mail has more than {MAX_PARTS} MIME parts")
    if depth > MAX_DEPTH:
        raise MalformedMail(f"the mail nests MIME parts more than {MAX_DEPTH} levels deep")
    payload = part.get_payload()
    if part.get_content_type() == "message/rfc822" or not isinstance(payload, list):
        yield part
        return
    for sub in payload:
        if isinstance(sub, Message):
            yield from _leaves(sub, depth + 1, count)


def _body_parts(message: EmailMessage) -> tuple[Message | None, Message | None]:
    """The plain-text and HTML body parts (either may be missing)."""
    if not message.is_multipart():
        if message.get_content_disposition() == "attachment":
            return None, None
        kind = message.get_content_type()
        if kind == "text/html":
            return None, message
        # A multipart type with an unreadable boundary arrives as one text payload.
        readable = kind == "text/plain" or kind.startswith("multipart/")
        return (message, None) if readable else (None, None)
    return message.get_body(("plain",)), message.get_body(("html",))


def part_text(part: Message) -> str:
    """A text part decoded leniently: its charset if Python knows it, else UTF-8."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(part.get_payload()).encode("utf-8", "replace")
    charset = _charset(part)
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def _charset(part: Message) -> str:
    try:
        return part.get_content_charset() or "utf-8"
    except PARSE_ERRORS:
        return "utf-8"


def _attachments(leaves: list[Message], bodies: set[int]) -> Iterator[Part]:
    for index, leaf in enumerate(leaves, 1):
        if id(leaf) in bodies or not _is_attachment(leaf):
            continue
        data = _data(leaf)
        if data:
            yield Part(_filename(leaf, index), leaf.get_content_type(), data)


def _is_attachment(part: Message) -> bool:
    kind = part.get_content_type()
    if part.get_content_disposition() == "attachment" or _filename(part, 0):
        return True
    # A stray text part that is neither body (a second plain part) is kept as a file.
    return not kind.startswith("multipart/")


def _filename(part: Message, index: int) -> str:
    try:
        name = part.get_filename() or ""
    except PARSE_ERRORS:
        name = ""
    if name or not index:
        return name
    if part.get_content_type() == "message/rfc822":
        return f"message-{index}.eml"
    return f"part-{index}"


def _data(part: Message) -> bytes:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            return inner[0].as_bytes(policy=policy.default)
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    return str(part.get_payload()).encode("utf-8", "replace")


# HTML to text, without a dependency.

_BLOCKS = frozenset(
    (
        "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "fieldset",
        "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "thead",
        "tfoot", "tr", "ul",
    )
)  # fmt: skip
_SKIPPED = frozenset({"script", "style", "head", "title", "template", "noscript"})
_VOID = frozenset(
    ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
     "source", "track", "wbr")
)  # fmt: skip
Dropper = Callable[[str, dict[str, str]], bool]


class _TextExtractor(HTMLParser):
    """Collects the visible text of an HTML document; `drop` removes whole elements."""

    def __init__(self, drop: Dropper | None) -> None:
        super().__init__(convert_charrefs=True)
        self.drop = drop
        self.chunks: list[str] = []
        self.stack: list[str] = []
        self.hidden_at: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            if self.hidden_at is None:
                self._void(tag)
            return
        self.stack.append(tag)
        if self.hidden_at is not None:
            return
        attributes = {name: value or "" for name, value in attrs}
        if tag in _SKIPPED or (self.drop is not None and self.drop(tag, attributes)):
            self.hidden_at = len(self.stack)
            return
        if tag in _BLOCKS:
            self.chunks.append("\n")
        if tag == "li":
            self.chunks.append("- ")
        if tag in {"td", "th"}:
            self.chunks.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.hidden_at is None and tag in _VOID:
            self._void(tag)

    def _void(self, tag: str) -> None:
        if tag in {"br", "hr"}:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.stack:
            return  # a stray end tag closes nothing
        while self.stack:
            popped = self.stack.pop()
            if self.hidden_at is not None and len(self.stack) < self.hidden_at:
                self.hidden_at = None
            if popped == tag:
                break
        if self.hidden_at is None and tag in _BLOCKS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if self.hidden_at is None:
            # Runs of white space are one space; `text()` trims each line's ends.
            self.chunks.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        lines = ("".join(self.chunks)).split("\n")
        cleaned = [" ".join(line.split()) for line in lines]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(cleaned)).strip()


def html_to_text(html: str, drop: Dropper | None = None) -> str:
    """The visible text of `html`: blocks become lines, scripts and styles vanish."""
    extractor = _TextExtractor(drop)
    extractor.feed(html)
    extractor.close()
    return extractor.text()
