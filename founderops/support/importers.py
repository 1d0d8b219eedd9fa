"""Bringing tickets and knowledge in from files.

Tickets come as CSV (with a header) or JSON Lines; knowledge as a folder of Markdown files.
A bad row or file is reported (by line number or path, with the reason) and skipped; every
good one is stored in its own transaction, so nothing valid is lost. Only a file that cannot
be read at all raises `UnreadableFile`.

Files may be UTF-8 (with or without a byte-order mark), UTF-16 with a byte-order mark, or
Windows-1252. A file that is UTF-8 except for some bytes keeps its good lines; the lines with
the bad bytes are rejected.

Ticket fields (CSV columns or JSON keys): `email` and `body` (required), `subject`, `name`,
`external_id` (the source's id: a second row with the same id is reported as a duplicate and
not stored again), `created_at` (ISO 8601 with a time zone, e.g. 2026-01-31T09:00:00Z) and
`channel` (default `import`). Unknown fields are refused rather than silently dropped: in
JSON Lines the row is rejected; in CSV a row with a value in an unknown column is rejected.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from django.db import transaction
from django.utils.text import slugify

from founderops.core import audit, jobs
from founderops.core.errors import InvalidInput
from founderops.customers.services import normalise_email
from founderops.support.models import KnowledgeArticle, Ticket
from founderops.support.services import Incoming, receive_ticket, save_article
from founderops.support.text import decode

FIELDS = ("email", "body", "subject", "name", "external_id", "created_at", "channel")
REQUIRED = ("email", "body")
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


class UnreadableFile(InvalidInput):
    """The file as a whole cannot be imported; nothing was stored."""


@dataclass(frozen=True)
class Rejected:
    """A row that was not stored, and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True)
class Problem:
    """A knowledge file that was not stored, and why."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass(frozen=True)
class Stored:
    line: int
    ticket_id: int


@dataclass
class TicketImport:
    """What an import did, row by row."""

    imported: list[Stored] = field(default_factory=list)
    duplicates: list[Stored] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"imported {len(self.imported)}, duplicates {len(self.duplicates)}, "
            f"rejected {len(self.rejected)}"
        )


@dataclass(frozen=True)
class Lines:
    """A file's lines as text, with the reason for each line whose bytes did not decode."""

    lines: list[str]
    bad: dict[int, str]


@dataclass(frozen=True)
class Row:
    first: int
    last: int
    fields: dict[str, object]


# Reading ------------------------------------------------------------------------------------


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise UnreadableFile(f"cannot read the file: {error.strerror or error}") from None


def detect_format(path: Path, given: str | None = None) -> str:
    if given:
        return given
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise UnreadableFile(
            f"cannot tell the format of {path.name} from its extension: "
            "name it .csv or .jsonl, or pass --format csv|jsonl"
        )
    return found


def decode_lines(raw: bytes) -> Lines:
    """Split into lines (at \\n, \\r or \\r\\n, as the csv module does) and decode each."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return Lines(io.StringIO(_utf16(raw), newline="").readlines(), {})
    if b"\x00" in raw:
        raise UnreadableFile(_nul_problem(raw))
    encoding = "utf-8" if _looks_utf8(raw) else "cp1252"
    lines: list[str] = []
    bad: dict[int, str] = {}
    for number, chunk in enumerate(raw.removeprefix(codecs.BOM_UTF8).splitlines(True), 1):
        try:
            lines.append(chunk.decode(encoding))
        except UnicodeDecodeError as error:
            bad[number] = _encoding_problem(chunk, error, encoding)
            lines.append(chunk.decode(encoding, errors="replace"))
    return Lines(lines, bad)


def _nul_problem(raw: bytes) -> str:
    """Why a file holding NUL bytes (which no text in UTF-8 or Windows-1252 holds) is refused."""
    head = raw[:4096]
    halves = [head[0::2], head[1::2]]
    nuls = [half.count(0) / max(len(half), 1) for half in halves]
    # UTF-16 text of a Latin script has a NUL in every other byte, and almost none between.
    if max(nuls) > 0.7 and min(nuls) < 0.1:
        return "the file looks like UTF-16 without a byte-order mark: save it as UTF-8"
    at = raw.index(b"\x00")
    line = raw[:at].count(b"\n") + 1
    return (
        f"the file holds NUL bytes (the first on line {line}): it looks like a binary file, "
        "not CSV or JSON Lines text; export the tickets as UTF-8 text"
    )


def _utf16(raw: bytes) -> str:
    try:
        return raw.decode("utf-16")
    except UnicodeDecodeError as error:
        raise UnreadableFile(f"the file starts as UTF-16 but is not: {error.reason}") from None


def _looks_utf8(raw: bytes) -> bool:
    # Windows-1252 text almost never holds a valid UTF-8 multi-byte sequence; UTF-8 text
    # with a few broken bytes still holds many.
    return raw.startswith(codecs.BOM_UTF8) or bool(_UTF8_MULTIBYTE.search(raw))


def _encoding_problem(chunk: bytes, error: UnicodeDecodeError, encoding: str) -> str:
    name = "UTF-8" if encoding == "utf-8" else "Windows-1252"
    return (
        f"wrong encoding: byte 0x{chunk[error.start]:02x} at column {error.start + 1} "
        f"is not valid {name} (the rest of the file is {name})"
    )


# Rows ---------------------------------------------------------------------------------------


def read_rows(text: Lines, fmt: str) -> Iterator[Row | Rejected]:
    rows = csv_rows(text.lines) if fmt == "csv" else jsonl_rows(text.lines)
    for row in rows:
        if isinstance(row, Row):
            bad = next((text.bad[n] for n in range(row.first, row.last + 1) if n in text.bad), "")
            if bad:
                yield Rejected(row.first, bad)
                continue
        yield row


def jsonl_rows(lines: list[str]) -> Iterator[Row | Rejected]:
    for number, line in enumerate(lines, 1):
        if line.strip():
            yield _json_row(number, line)


def _json_row(number: int, line: str) -> Row | Rejected:
    try:
        value = json.loads(line.rstrip("\r\n"))
    except json.JSONDecodeError as error:
        return Rejected(number, f"malformed JSON: {error.msg} at column {error.colno}")
    except RecursionError:
        return Rejected(number, "malformed JSON: nested too deeply")
    if not isinstance(value, dict):
        return Rejected(number, f"expected a JSON object, got {_json_type(value)}")
    return Row(number, number, value)


def _json_type(value: object) -> str:
    names = {list: "an array", str: "a string", bool: "true/false", type(None): "null"}
    return names.get(type(value), "a number")


def csv_rows(lines: list[str]) -> Iterator[Row | Rejected]:
    if not any(line.strip() for line in lines):
        raise UnreadableFile("the file is empty")
    reader = csv.reader(lines, delimiter=_delimiter(lines[0]), strict=True)
    try:
        names = next(reader)
    except csv.Error as error:
        raise UnreadableFile(
            f"line 1: the header is malformed CSV ({error}); the first line must name the "
            "columns, e.g. email,body,subject"
        ) from None
    header = _header(names)
    previous = reader.line_num
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield Rejected(previous + 1, f"malformed CSV: {error}")
        else:
            if values:
                yield _csv_row(header, values, previous + 1, reader.line_num)
        previous = reader.line_num


def _delimiter(first_line: str) -> str:
    # Spreadsheets in many locales save with ';' (or tabs); the header says which.
    return max(",;\t", key=first_line.count)


def _header(names: list[str]) -> list[str]:
    header = [name.strip().lower() for name in names]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        found = ", ".join(repr(name) for name in names[:8]) or "nothing"
        raise UnreadableFile(
            f"line 1: the header has no {' or '.join(missing)} column; the first line must "
            f"name the columns (email, body, and any of subject, name, external_id, "
            f"created_at, channel); found {found}"
        )
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise UnreadableFile(f"line 1: the header names {', '.join(duplicated)} twice")
    return header


def _csv_row(header: list[str], values: list[str], first: int, last: int) -> Row | Rejected:
    if len(values) != len(header):
        return Rejected(first, f"{len(values)} values, but the header has {len(header)} columns")
    # An empty cell in an unknown column loses nothing; a filled one would be dropped.
    fields: dict[str, object] = {
        k: v for k, v in zip(header, values, strict=True) if k in FIELDS or v.strip()
    }
    return Row(first, last, fields)


# Tickets ------------------------------------------------------------------------------------


def to_incoming(fields: dict[str, object]) -> Incoming:
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise InvalidInput(f"unknown field {names} (known: {', '.join(FIELDS)})")
    values = {name: _text(fields, name) for name in FIELDS}
    for name in REQUIRED:
        if values[name] is None:
            raise InvalidInput(f"missing field {name!r}")
        if not str(values[name]).strip():
            raise InvalidInput(f"{name} is empty")
    return Incoming(
        email=normalise_email(str(values["email"])),
        body=str(values["body"]),
        subject=values["subject"] or "",
        name=values["name"] or "",
        channel=values["channel"] or Ticket.Channel.IMPORT,
        external_id=(values["external_id"] or "").strip() or None,
        created_at=parse_time(values["created_at"]),
    )


def _text(fields: dict[str, object], name: str) -> str | None:
    value = fields.get(name)
    if value is None:
        return None
    if name == "external_id" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text, not {_json_type(value)}")
    return value


def parse_time(value: str | None) -> datetime | None:
    if value is None or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"created_at is not an ISO 8601 date-time: {value[:40]!r} (e.g. 2026-01-31T09:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput(
            f"created_at {value[:40]!r} has no time zone (add Z or an offset such as +02:00)"
        )
    return moment


def import_tickets(raw: bytes, fmt: str, triage: bool = True) -> TicketImport:
    """Store each good row as a ticket (once per external_id); report the others."""
    report = TicketImport()
    for row in read_rows(decode_lines(raw), fmt):
        if isinstance(row, Rejected):
            report.rejected.append(row)
        else:
            _store(row, triage, report)
    return report


def _store(row: Row, triage: bool, report: TicketImport) -> None:
    try:
        incoming = to_incoming(row.fields)
        with transaction.atomic():
            ticket, created = receive_ticket(incoming, triage=triage)
    except InvalidInput as error:
        report.rejected.append(Rejected(row.first, str(error)))
        return
    (report.imported if created else report.duplicates).append(Stored(row.first, ticket.pk))


def import_ticket_file(path: Path, fmt: str | None = None, triage: bool = True) -> TicketImport:
    if path.is_dir():
        raise UnreadableFile("is a directory, not a file: give the path of a .csv or .jsonl file")
    fmt = detect_format(path, fmt)
    return import_tickets(read_bytes(path), fmt, triage)


# Knowledge ----------------------------------------------------------------------------------

KNOWLEDGE_FORMAT = """\
A knowledge base folder holds one Markdown file per article (`*.md`, searched recursively;
`README.md` and names starting with `.` or `_` are skipped; symbolic links are refused).
Each file starts with a front matter between two `---` lines: `key: value` lines, and
`examples:` followed by one `  - question` line per example (`#` starts a comment line):

    ---
    title: Reset your password
    intent: reset_password
    slug: reset-password
    published: true
    examples:
      - I forgot my password
      - How do I change my password?
    ---
    Some background the founder wants to keep with the article.

    ## Answer
    Open Settings → Security and click "Reset password". The link is valid for an hour.

`title` and `intent` (one word, such as reset_password) are required. `slug` defaults to the
file name, `published` (true or false) to true, `examples` to none. The `## Answer` section
(up to the next `#` or `##` heading) is the reply sent to customers; the rest of the file is
the article. Instead of the section, the front matter may hold `answer: …` (or `answer: |`
followed by indented lines). Unknown fields are refused. Each intent is answered by one
article: a second article with an intent already taken is refused. An invalid file is
reported with its path and the reason and skipped; valid files are created or updated by slug.
"""

ARTICLE_FIELDS = ("title", "intent", "slug", "published", "examples", "answer")
MAX_ARTICLE_BYTES = 1_000_000
_ANSWER = re.compile(r"^##\s+answer\s*#*\s*$", re.IGNORECASE)
_HEADING = re.compile(r"^#{1,2}\s")
_FENCE = re.compile(r"^\s*(```|~~~)")
Meta = dict[str, str | list[str]]
_PAIR = re.compile(r"^([A-Za-z_][\w-]*)\s*:(.*)$")
_ITEM = re.compile(r"^\s*-(?:\s+(.*))?$")
_BOOLEANS = {"true": True, "yes": True, "false": False, "no": False}


@dataclass(frozen=True)
class ArticleFile:
    slug: str
    title: str
    intent: str
    body: str
    answer: str
    examples: list[str]
    published: bool


@dataclass
class ArticleImport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    rejected: list[Problem] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"imported {len(self.created) + len(self.updated)} (created {len(self.created)}, "
            f"updated {len(self.updated)}), rejected {len(self.rejected)}"
        )


def article_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise UnreadableFile(f"{directory} is not a folder")
    # Symbolic links are listed (and refused by read_article), so that the report says why
    # `link.md -> /etc/passwd` was not read.
    return sorted(
        path
        for path in directory.rglob("*.md")
        if (path.is_symlink() or path.is_file()) and not _skipped(path.relative_to(directory))
    )


def _skipped(relative: Path) -> bool:
    hidden = any(part.startswith((".", "_")) for part in relative.parts)
    return hidden or relative.name.lower() == "readme.md"


def parse_article(text: str, default_slug: str) -> ArticleFile:
    """One Markdown file with its front matter; InvalidInput says what is wrong."""
    front, rest = split_front_matter(text)
    meta = load_front_matter(front)
    body, section = split_answer(rest)
    answer = _answer(_optional_text(meta, "answer"), section)
    return ArticleFile(
        slug=_slug(meta, default_slug),
        title=_required_text(meta, "title", 200),
        intent=_intent(meta),
        body=body,
        answer=answer,
        examples=_examples(meta),
        published=_published(meta),
    )


def split_front_matter(text: str) -> tuple[str, str]:
    lines = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines[0].strip() != "---":
        raise InvalidInput("no front matter: the file must start with a '---' line")
    for number, line in enumerate(lines[1:], 1):
        if line.strip() == "---":
            return "\n".join(lines[1:number]), "\n".join(lines[number + 1 :])
    raise InvalidInput("the front matter is not closed by a second '---' line")


def load_front_matter(front: str) -> Meta:
    """`key: value` lines, `key:` with `  - item` lines under it, `key: |` with indented lines.

    Deliberately not YAML: a question such as "error: unsupported format" stays text, and
    "no" stays the word no. Anything else is refused with its line number.
    """
    meta: Meta = {}
    blocks: dict[str, list[str]] = {}
    current: str | None = None
    for number, line in enumerate(front.split("\n"), 2):
        if current in blocks and (not line.strip() or line[:1] in " \t"):
            blocks[current].append(line)
        elif line.strip() and not line.lstrip().startswith("#"):
            current = _front_matter_line(meta, blocks, current, number, line.rstrip())
    for key, lines in blocks.items():
        meta[key] = textwrap.dedent("\n".join(lines)).strip()
    unknown = sorted(set(meta) - set(ARTICLE_FIELDS))
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        raise InvalidInput(f"unknown field {names} (known: {', '.join(ARTICLE_FIELDS)})")
    return meta


def _front_matter_line(
    meta: Meta,
    blocks: dict[str, list[str]],
    current: str | None,
    number: int,
    line: str,
) -> str | None:
    """Read one line into meta; returns the key that following lines belong to."""
    item = _ITEM.match(line)
    if item:
        items = meta.get(current or "")
        if not isinstance(items, list):
            raise InvalidInput(f"line {number}: a '- item' line must follow a 'key:' line")
        items.append(_unquote(item.group(1) or ""))
        return current
    pair = _PAIR.match(line)
    if not pair:
        raise InvalidInput(
            f"line {number} of the front matter is not understood: use 'key: value' lines, "
            "and '  - item' lines under 'examples:'"
        )
    key, value = pair.group(1), pair.group(2).strip()
    if key in meta or key in blocks:
        raise InvalidInput(f"line {number}: {key} is set twice")
    if value == "|":
        blocks[key] = []
    else:
        meta[key] = [] if not value else _unquote(value)
    return key


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def split_answer(text: str) -> tuple[str, str | None]:
    """The article body without its '## Answer' section, and that section (None if absent)."""
    lines = text.split("\n")
    starts = _headings(lines, _ANSWER)
    if not starts:
        return text.strip(), None
    if len(starts) > 1:
        raise InvalidInput("the file has more than one '## Answer' section")
    start = starts[0]
    end = next((n for n in _headings(lines, _HEADING) if n > start), len(lines))
    body = "\n".join(lines[:start] + lines[end:]).strip()
    return body, "\n".join(lines[start + 1 : end]).strip()


def _headings(lines: list[str], pattern: re.Pattern[str]) -> list[int]:
    found, fenced = [], False
    for number, line in enumerate(lines):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and pattern.match(line):
            found.append(number)
    return found


def _answer(field_answer: str | None, section: str | None) -> str:
    if field_answer is not None and section is not None:
        raise InvalidInput("the answer is given twice: as 'answer:' and as a '## Answer' section")
    answer = field_answer if field_answer is not None else section
    if answer is None:
        raise InvalidInput("no answer: add a '## Answer' section or an 'answer:' field")
    if not answer.strip():
        raise InvalidInput("the answer is empty")
    return answer.strip()


def _optional_text(meta: Meta, name: str) -> str | None:
    value = meta.get(name)
    if value is None or value == []:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text on its own line, not a list")
    return value


def _required_text(meta: Meta, name: str, max_chars: int) -> str:
    value = (_optional_text(meta, name) or "").strip()
    if not value:
        raise InvalidInput(f"missing field {name!r}")
    if len(value) > max_chars:
        raise InvalidInput(f"{name} is longer than {max_chars} characters")
    return value


def _intent(meta: Meta) -> str:
    intent = _required_text(meta, "intent", 100)
    if len(intent.split()) != 1:
        raise InvalidInput(f"intent must be one word such as reset_password, not {intent!r}")
    return intent


def _slug(meta: Meta, default: str) -> str:
    slug = (_optional_text(meta, "slug") or default).strip()
    if not slug:
        raise InvalidInput("cannot make a slug from the file name: add a 'slug:' field")
    if slug != slugify(slug) or len(slug) > 120:
        raise InvalidInput(
            f"slug {slug!r} is not a slug (lower-case letters, digits and '-', at most 120)"
        )
    return slug


def _published(meta: Meta) -> bool:
    value = _optional_text(meta, "published")
    if value is None:
        return True
    if value.strip().lower() not in _BOOLEANS:
        raise InvalidInput(f"published must be true or false, not {value!r}")
    return _BOOLEANS[value.strip().lower()]


def _examples(meta: Meta) -> list[str]:
    value = meta.get("examples")
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput("examples must be '  - question' lines under 'examples:'")
    examples: list[str] = []
    for number, item in enumerate(value, 1):
        if not item.strip():
            raise InvalidInput(f"example {number} must be a non-empty line of text")
        if item.strip() not in examples:
            examples.append(item.strip())
    return examples


def import_articles(directory: Path, train: bool = True) -> ArticleImport:
    """Create or update each valid article by slug; then queue the classifier's refresh."""
    report = ArticleImport()
    seen: dict[str, str] = {}
    for path in article_files(directory):
        _import_article(path, str(path.relative_to(directory)), seen, report)
    saved = report.created + report.updated
    if saved:
        audit.record(
            "system",
            "support.knowledge_imported",
            outcome=report.summary(),
            details={"created": report.created, "updated": report.updated},
        )
    if saved and train:
        transaction.on_commit(lambda: jobs.enqueue("founderops.support.tasks.refresh_classifier"))
    return report


def read_article(path: Path) -> ArticleFile:
    if path.is_symlink():
        raise InvalidInput("a symbolic link: skipped (only files inside the folder are read)")
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise InvalidInput(f"cannot read the file: {error.strerror or error}") from None
    if len(raw) > MAX_ARTICLE_BYTES:
        raise InvalidInput(f"the file is larger than {MAX_ARTICLE_BYTES:,} bytes")
    return parse_article(decode(raw), slugify(path.stem))


def _import_article(path: Path, name: str, seen: dict[str, str], report: ArticleImport) -> None:
    try:
        article = read_article(path)
        if article.slug in seen:
            raise InvalidInput(f"slug {article.slug!r} is already used by {seen[article.slug]}")
        seen[article.slug] = name
        exists = KnowledgeArticle.objects.filter(slug=article.slug).exists()
        with transaction.atomic():
            save_article(
                article.slug,
                article.title,
                article.intent,
                article.body,
                article.answer,
                article.examples,
                article.published,
            )
    except InvalidInput as error:
        report.rejected.append(Problem(name, str(error)))
        return
    (report.updated if exists else report.created).append(article.slug)
