"""`founderops bench email`: e-mail intake throughput, from an IMAP mailbox to a decided ticket.

The bench starts a private dovecot (`founderops.cli.dovecot`), builds the knowledge base and
trains the classifier as `bench support` does, APPENDs N mails to the support mailbox (real
questions from the data set as bodies; plain text, HTML only, or both; every tenth a reply
to an earlier mail of the same sender, with the earlier text quoted), then times the
production path, stage by stage, as the worker's jobs would run it:

1. fetch + store: `imap.poll_mailbox` until the mailbox is drained (IMAPS, one transaction
   per mail, the processing job queued);
2. parse + ticket: `inbound.process_inbound` for every stored mail (MIME, loops, threading,
   quote stripping, the ticket or the follow-up message);
3. decide: the Support Agent's decision on each new ticket (classification, retrieval,
   answer or escalation stored), without an LLM so that runs compare.

Setup (server, mails, training) is not timed. Each stage's rate is the mails divided by that
stage's seconds; `messages_per_second` divides them by the three stages' sum.
"""

from __future__ import annotations

import math
import secrets
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

from django.conf import settings
from django.core.management.base import CommandError

from founderops.channels import imap, inbound, mailboxes
from founderops.channels.models import InboundEmail, Mailbox
from founderops.cli import dovecot, evaluation
from founderops.core import clock
from founderops.support.agents import handle_ticket
from founderops.support.models import Decision, Ticket

ACCOUNT = "support"
ADDRESS = "help@bench.example"
MISSING_DOVECOT = 2
REPLY_EVERY = 10
# At most this many mails a sender, well under the per-sender limit (20 an hour by default),
# so that the bench measures intake, not the rate limiter.
MAILS_PER_SENDER = 10
SUBJECT_CHARS = 60


@dataclass
class Timings:
    fetch_store: float = 0.0
    process: list[float] = field(default_factory=list)
    decide: list[float] = field(default_factory=list)

    @property
    def total(self) -> float:
        return self.fetch_store + sum(self.process) + sum(self.decide)


@dataclass(frozen=True)
class Composed:
    mails: list[bytes]
    html: int
    replies: int


def require_dovecot() -> str:
    found = dovecot.binary()
    if found is None:
        raise CommandError(dovecot.INSTALL_HINT, returncode=MISSING_DOVECOT)
    return found


def require_queued_jobs() -> None:
    # Inline jobs would run every stage inside the poll, and the split would mean nothing.
    if settings.Q_CLUSTER.get("sync"):
        raise CommandError("bench email times each stage itself: unset FOUNDEROPS_JOBS_SYNC")


def run(dataset: evaluation.Dataset, source: str, count: int) -> dict[str, object]:
    if count < 1:
        raise CommandError("--mails must be at least 1")
    executable = require_dovecot()
    require_queued_jobs()
    evaluation.prepare_database()
    evaluation.create_workspace(dataset.train, [text for text, _ in dataset.oos_train], 0.95)
    _, train_seconds = evaluation.train_classifier()
    composed = compose_mails(questions(dataset), count)
    password = secrets.token_urlsafe(18)
    with dovecot.Dovecot({ACCOUNT: password}, executable) as server:
        mailbox = connect(server, password)
        server.append(ACCOUNT, composed.mails)
        timings = Timings(fetch_store=fetch_all(mailbox, count))
    timings.process = process_all()
    timings.decide = decide_all()
    return report(source, composed, timings, train_seconds)


# The mails.


def questions(dataset: evaluation.Dataset) -> list[str]:
    """Texts customers really wrote: the held-out questions, known and unknown."""
    texts = [text for text, _ in dataset.val + dataset.oos_val if text.strip()]
    if not texts:
        raise CommandError("the data set holds no question to send")
    return texts


def compose_mails(texts: Sequence[str], count: int) -> Composed:
    senders = max(1, math.ceil(count / MAILS_PER_SENDER))
    mails: list[bytes] = []
    html = replies = 0
    subjects: list[str] = []
    for n in range(count):
        text = texts[n % len(texts)]
        earlier = n - senders  # the same sender's previous mail
        if n % REPLY_EVERY == REPLY_EVERY - 1 and earlier >= 0:
            subject = "Re: " + subjects[earlier]
            mail = reply_mail(n, senders, text, subject, texts[earlier % len(texts)], earlier)
            replies += 1
        else:
            subject = text[:SUBJECT_CHARS].strip()
            mail = new_mail(n, senders, text, subject)
            html += n % 4 in (1, 3)
        subjects.append(subject.removeprefix("Re: "))
        mails.append(mail.as_bytes(policy=policy.SMTP))
    return Composed(mails, html, replies)


def msgid(n: int) -> str:
    return f"<bench-{n}@mail.example.com>"


def headers(n: int, senders: int, subject: str) -> EmailMessage:
    mail = EmailMessage(policy=policy.default)
    mail["From"] = f"Customer {n % senders} <customer{n % senders}@example.com>"
    mail["To"] = ADDRESS
    mail["Subject"] = subject
    mail["Date"] = format_datetime(clock.now())
    mail["Message-ID"] = msgid(n)
    return mail


def new_mail(n: int, senders: int, text: str, subject: str) -> EmailMessage:
    """Plain text; every fourth HTML only; every fourth plain text and HTML."""
    mail = headers(n, senders, subject)
    body = f"Hello,\n\n{text}\n\nThanks,\nCustomer {n % senders}"
    markup = f"<html><body><p>Hello,</p><p>{text}</p><p>Thanks,<br>Customer</p></body></html>"
    if n % 4 == 1:
        mail.set_content(markup, subtype="html")
    else:
        mail.set_content(body)
        if n % 4 == 3:
            mail.add_alternative(markup, subtype="html")
    return mail


def reply_mail(
    n: int, senders: int, text: str, subject: str, quoted: str, earlier: int
) -> EmailMessage:
    """An answer in the same thread, quoting the earlier mail as mail clients do."""
    mail = headers(n, senders, subject)
    mail["In-Reply-To"] = msgid(earlier)
    mail["References"] = msgid(earlier)
    quote = "\n".join(f"> {line}" for line in quoted.splitlines())
    mail.set_content(f"{text}\n\nOn Monday, Customer {n % senders} wrote:\n{quote}\n")
    return mail


# The stages.


def connect(server: dovecot.Dovecot, password: str) -> Mailbox:
    config = mailboxes.MailboxConfig(
        name="Bench",
        address=ADDRESS,
        host=dovecot.HOST,
        username=ACCOUNT,
        port=server.imaps_port,
        ca_file=str(server.ca_file),
    )
    return mailboxes.connect_mailbox(config, password, "cli:bench", only_new=False)


def fetch_all(mailbox: Mailbox, count: int) -> float:
    """Poll until every mail is stored (a poll takes at most imap.MAX_PER_POLL)."""
    fetched = 0
    started = time.perf_counter()
    while fetched < count:
        result = imap.poll_mailbox(mailbox)
        if result.error:
            raise CommandError(f"polling the bench mailbox failed: {result.error}")
        if not result.fetched:
            raise CommandError(f"the mailbox gave {fetched} of {count} mails, then nothing")
        fetched += result.fetched
    return time.perf_counter() - started


def process_all() -> list[float]:
    pending = InboundEmail.objects.filter(status=InboundEmail.Status.PENDING).order_by("id")
    seconds = []
    for pk in list(pending.values_list("pk", flat=True)):
        started = time.perf_counter()
        inbound.process_inbound(pk)
        seconds.append(time.perf_counter() - started)
    return seconds


def decide_all() -> list[float]:
    seconds = []
    undecided = Ticket.objects.filter(decisions__isnull=True).order_by("id")
    for ticket in list(undecided):
        deps, _ = evaluation.timed_deps()
        started = time.perf_counter()
        handle_ticket(ticket, deps)
        seconds.append(time.perf_counter() - started)
    return seconds


# The figures.


def report(
    source: str, composed: Composed, timings: Timings, train_seconds: float
) -> dict[str, object]:
    mails = len(composed.mails)
    statuses = Counter(InboundEmail.objects.values_list("status", flat=True))
    actions = Counter(Decision.objects.values_list("action", flat=True))
    return {
        "source": source,
        "mails": mails,
        "html_mails": composed.html,
        "reply_mails": composed.replies,
        "inbound": dict(sorted(statuses.items())),
        "tickets": Ticket.objects.count(),
        "answered_auto": actions[Decision.Action.AUTO_REPLY],
        "escalated": actions[Decision.Action.ESCALATE],
        "seconds": round(timings.total, 2),
        "messages_per_second": rate(mails, timings.total),
        "stages_per_second": {
            "fetch_store": rate(mails, timings.fetch_store),
            "parse_ticket": rate(mails, sum(timings.process)),
            "decide": rate(mails, sum(timings.decide)),
        },
        "process_p50_ms": milliseconds(timings.process, 0.50),
        "process_p95_ms": milliseconds(timings.process, 0.95),
        "decide_p50_ms": milliseconds(timings.decide, 0.50),
        "decide_p95_ms": milliseconds(timings.decide, 0.95),
        "train_s": round(train_seconds, 1),
        "peak_rss_mb": evaluation.peak_rss_mb(),
    }


def rate(count: int, seconds: float) -> float | None:
    return round(count / seconds, 1) if seconds > 0 else None


def milliseconds(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return round(ordered[index] * 1000, 1)
