"""The demo workspace: Inkwell, a fictional newsletter platform, with its help centre,
customers and a stream of incoming tickets (all in demo_data/, written for this project).

Loading is idempotent: a second run finds everything in place and changes nothing. The past
three days of tickets are replayed through the real Support Agent so the dashboard and the
briefing have numbers; the rest arrive live, one a minute, through a job schedule.
"""

from __future__ import annotations

import json
import secrets
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import CommandError
from django.db import transaction
from django_q.models import Schedule

from founderops.ai import policy, registry
from founderops.ai.models import Approval
from founderops.channels import inbound
from founderops.channels.models import InboundEmail
from founderops.cli import demo_billing, demo_ops
from founderops.core import audit, clock, jobs
from founderops.customers.models import Customer, Identity
from founderops.customers.services import find_or_create_customer
from founderops.support import agents, services, training
from founderops.support.importers import ArticleFile, article_files, read_article
from founderops.support.models import Decision, KnowledgeArticle, Message, SavedReply, Ticket

DATA_DIR = Path(__file__).resolve().parent / "demo_data"
OWNER = "founder"
OWNER_EMAIL = "founder@example.com"
STREAM = "demo: incoming tickets"
FEED_JOB = "founderops.cli.demo.feed_next_ticket"
TICKET_PREFIX = "demo-"
# E-mail tickets arrive as real mail through the inbound channel; their Message-IDs end so.
MAIL_DOMAIN = "mail.inkwell.example"
SUPPORT_ADDRESS = "support@inkwell.example"


@dataclass(frozen=True)
class CustomerRow:
    name: str
    email: str
    plan: str
    language: str


@dataclass(frozen=True)
class TicketRow:
    """A ticket of the stream: a negative offset is minutes before the load (replayed), a
    positive one is its place in the live stream that arrives after the demo starts.

    `stripe`: replayed with the demo's Stripe connected (`demo_billing.connected`), so the
    Support Agent can act on the customer's billing as the founder's policy allows: Sam's
    refund, inside the policy, is done; Olu's, over it, waits in the inbox for the founder's
    approval. The running demo answers Stripe from the stored billing (`demo_live_stripe`), so
    approving it there makes the refund and sends the reply."""

    external_id: str
    email: str
    subject: str
    body: str
    channel: str
    offset_minutes: int
    stripe: bool = False

    @property
    def live(self) -> bool:
        return self.offset_minutes > 0


@dataclass
class Summary:
    articles: int = 0
    customers: int = 0
    tickets: int = 0
    answered: int = 0
    escalated: int = 0
    trained: bool = False
    scheduled: int = 0
    incidents: int = 0
    # Stripe objects of Inkwell's billing history stored by the real sync.
    revenue: int = 0


# --- reading the content -------------------------------------------------------------------


def read_articles(folder: Path = DATA_DIR / "kb") -> list[ArticleFile]:
    """The help centre, read by the same parser as `founderops kb import`, with what the
    product's settings decide filled in (`dunning_words`)."""
    return [filled(read_article(path)) for path in article_files(folder)]


def filled(article: ArticleFile) -> ArticleFile:
    """The article with each {{placeholder}} of `dunning_words` replaced."""
    body, answer = article.body, article.answer
    for placeholder, words in dunning_words().items():
        body, answer = body.replace(placeholder, words), answer.replace(placeholder, words)
    return replace(article, body=body, answer=answer)


def dunning_words() -> dict[str, str]:
    """What the failed-payment article promises, from the dunning the product runs
    (FOUNDEROPS_DUNNING_SCHEDULE_DAYS and FOUNDEROPS_DUNNING_RETRY_DAYS)."""
    reminders: list[int] = settings.DUNNING_SCHEDULE_DAYS
    retries: list[int] = settings.DUNNING_RETRY_DAYS
    return {
        "{{dunning_reminders}}": f"email the account owner {on_days(reminders)}"
        if reminders
        else "show it on the billing page",
        "{{dunning_retries}}": f"retry the payment automatically {on_days(retries)}"
        if retries
        else "do not retry the payment on our own",
    }


def on_days(days: list[int]) -> str:
    """[0, 3, 7, 14]: "right away and again after 3, 7 and 14 days"."""
    later = [str(day) for day in days if day]
    if not later:
        return "right away"
    listed = f"{', '.join(later[:-1])} and {later[-1]}" if len(later) > 1 else later[0]
    after = f"after {listed} {'day' if later == ['1'] else 'days'}"
    return f"right away and again {after}" if 0 in days else after


def read_customers(path: Path = DATA_DIR / "customers.json") -> list[CustomerRow]:
    return [CustomerRow(**row) for row in json.loads(path.read_text("utf-8"))]


def read_tickets(path: Path = DATA_DIR / "tickets.jsonl") -> list[TicketRow]:
    lines = path.read_text("utf-8").splitlines()
    return [TicketRow(**json.loads(line)) for line in lines if line.strip()]


# --- the owner's login ---------------------------------------------------------------------


def demo_password() -> str:
    """FOUNDEROPS_DEMO_PASSWORD, or one generated on the first run and kept in the data dir."""
    configured: str = settings.DEMO_PASSWORD
    if configured:
        return configured
    path = Path(settings.DATA_DIR) / "demo_password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12))
        path.chmod(0o600)
    return path.read_text().strip()


def ensure_owner(password: str) -> User:
    user = User.objects.filter(username=OWNER).first()
    if user is None:
        return User.objects.create_superuser(OWNER, OWNER_EMAIL, password)
    if not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


# --- loading -------------------------------------------------------------------------------


def load(now: datetime | None = None, web_port: int = 8000, sim_port: int = 0) -> Summary:
    """Put the whole demo workspace in place; a second call changes nothing.

    `web_port` is where FounderOps will listen and `sim_port` where Inkwell, the pretend
    product its monitors watch, will (default: the next port)."""
    now = now or clock.now()
    summary = Summary(articles=load_articles(read_articles()))
    summary.customers = load_customers(read_customers())
    summary.trained = train_if_needed(summary.articles > 0)
    set_refund_policy()
    people = [(r.name, r.email) for r in read_customers()]
    stripe = demo_billing.Account(now, people)
    # Billing first: the replayed tickets ask about it (Sam's is refunded, Olu's proposed).
    summary.revenue = demo_billing.load(now, people, stripe)
    rows = read_tickets()
    # The history's jobs (triage, reply delivery, mail processing) run as it is replayed, at
    # its own time, instead of waiting in the queue for the first worker.
    with jobs.running_inline():
        replayed = [replay_ticket(row, now, stripe) for row in rows if not row.live]
        summary.tickets = sum(1 for created in replayed if created)
        summary.scheduled = schedule_stream(rows, now)
        owner = User.objects.filter(username=OWNER).first()
        load_channel_noise(now)
        rate_some_answers()
        if owner is not None:
            load_saved_replies(owner)
    summary.incidents = demo_ops.load(now, sim_port or web_port + 1, web_port, owner)
    count_outcomes(summary)
    if (
        summary.articles
        or summary.customers
        or summary.tickets
        or summary.scheduled
        or (summary.incidents)
        or summary.revenue
    ):
        audit.record("cli:demo", "demo.loaded", outcome="loaded", details=asdict(summary))
    return summary


def set_refund_policy() -> bool:
    """The policy README suggests: refunds up to 50 USD within 14 days of the charge are
    automatic. Set once; a policy the founder changed is left alone."""
    refund = policy.get_action(services.AGENT, "refund")
    if policy.policy_for(refund).customised:
        return False
    limits = policy.Limits(max_amount=5000, currency="USD", max_age_days=14)
    policy.set_policy(services.AGENT, "refund", policy.Mode.AUTO, limits, "cli:demo")
    return True


def load_articles(articles: list[ArticleFile]) -> int:
    """Create or update the articles that differ from their file; returns how many."""
    changed = [a for a in articles if not is_unchanged(a)]
    for a in changed:
        services.save_article(a.slug, a.title, a.intent, a.body, a.answer, a.examples, a.published)
    return len(changed)


def is_unchanged(article: ArticleFile) -> bool:
    return KnowledgeArticle.objects.filter(
        slug=article.slug,
        title=article.title,
        intent=article.intent,
        body=article.body,
        answer=article.answer,
        examples=article.examples,
        published=article.published,
    ).exists()


def load_customers(rows: list[CustomerRow]) -> int:
    """Create the customers not seen yet, with their plan and language; returns how many."""
    before = Customer.objects.count()
    for row in rows:
        customer = find_or_create_customer(row.email, row.name)
        # The customers service knows no plan or language yet: set them when they differ.
        Customer.objects.filter(pk=customer.pk).exclude(
            plan=row.plan, language=row.language
        ).update(plan=row.plan, language=row.language)
    return Customer.objects.count() - before


def train_if_needed(knowledge_changed: bool) -> bool:
    if not knowledge_changed and registry.current_version(agents.MODEL_NAME) is not None:
        return False
    training.refresh_classifier()
    return True


def incoming(row: TicketRow, created_at: datetime) -> services.Incoming:
    return services.Incoming(
        email=row.email,
        subject=row.subject,
        body=row.body,
        channel=row.channel,
        external_id=external_id(row),
        created_at=created_at,
    )


def external_id(row: TicketRow) -> str:
    """The ticket's id at its channel: an e-mail's is its Message-ID."""
    return f"{row.external_id}@{MAIL_DOMAIN}" if row.channel == "email" else row.external_id


def demo_mail(row: TicketRow, sent_at: datetime) -> bytes:
    """The ticket as the customer's mail program would have sent it."""
    mail = EmailMessage()
    mail["From"] = row.email
    mail["To"] = SUPPORT_ADDRESS
    mail["Subject"] = row.subject
    mail["Date"] = format_datetime(sent_at)
    mail["Message-ID"] = f"<{external_id(row)}>"
    mail.set_content(row.body)
    return mail.as_bytes()


def arrive(row: TicketRow, at: datetime, triage: bool) -> tuple[Ticket, bool]:
    """The ticket comes in through its channel: e-mail through the real inbound path."""
    if row.channel != "email":
        return services.receive_ticket(incoming(row, at), triage=triage)
    stored, new = inbound.store_inbound(demo_mail(row, at), InboundEmail.Source.UPLOAD)
    inbound.process_inbound(stored.pk)
    stored.refresh_from_db()
    if stored.ticket is None:
        raise CommandError(f"demo mail {row.external_id} was not accepted: {stored.reason}")
    return stored.ticket, new


def replay_ticket(
    row: TicketRow, now: datetime, stripe: demo_billing.Account | None = None
) -> bool:
    """Receive a past ticket at its time and let the agent decide; True when it was new."""
    moment = now + timedelta(minutes=row.offset_minutes)
    connect = row.stripe and stripe is not None and not decided(row)
    billing = demo_billing.connected(stripe.served) if connect and stripe else nullcontext()
    with clock.replaying(moment), billing:
        ticket, created = arrive(row, moment, triage=False)
        if not Decision.objects.filter(ticket=ticket).exists():
            agents.handle_ticket(ticket)
    return created


def decided(row: TicketRow) -> bool:
    """The agent has decided on this ticket already (a second load)."""
    return Decision.objects.filter(
        ticket__channel=row.channel, ticket__external_id=external_id(row)
    ).exists()


# An out-of-office reply and a bounce: the Channels page shows them kept and not answered.
NOISE: tuple[tuple[str, str, str, dict[str, str], str], ...] = (
    (
        "out-of-office",
        "ines@atelier-nord.example.org",
        "Automatic reply: Your Inkwell receipt",
        {"Auto-Submitted": "auto-replied"},
        "I am out of the office until Monday.",
    ),
    (
        "bounce",
        "MAILER-DAEMON@mx.example.net",
        "Undelivered Mail Returned to Sender",
        {},
        "This is the mail system: your message could not be delivered.",
    ),
)


def load_channel_noise(now: datetime) -> None:
    for key, sender, subject, headers, body in NOISE:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = sender, SUPPORT_ADDRESS, subject
        mail["Date"] = format_datetime(now - timedelta(hours=5))
        mail["Message-ID"] = f"<demo-{key}@{MAIL_DOMAIN}>"
        for name, value in headers.items():
            mail[name] = value
        mail.set_content(body)
        stored, new = inbound.store_inbound(mail.as_bytes(), InboundEmail.Source.UPLOAD)
        if new:
            inbound.process_inbound(stored.pk)


def rate_some_answers() -> None:
    """CSAT: customers clicked on some automatic answers (one in six "not good")."""
    replies = Message.objects.filter(
        author=Message.Author.AGENT, ticket__external_id__in=demo_ticket_ids()
    ).order_by("created_at", "id")
    for number, reply in enumerate(replies[:18]):
        score = "bad" if number % 6 == 5 else "good"
        if not hasattr(reply, "rating"):
            services.rate_reply(reply, score, reply.ticket.channel)


SAVED_REPLIES = (
    (
        "Thanks, it's fixed",
        "",
        "Hi {name},\n\nThanks for telling us: it is fixed now. "
        "Let me know if you still see it.\n\nThe Inkwell team",
    ),
    (
        "Need more details",
        "",
        "Hi {name},\n\nCould you send a screenshot and the address "
        "of the page where it happens? Then I can look right away.\n\nThe Inkwell team",
    ),
)


def load_saved_replies(owner: User) -> None:
    for title, intent, body in SAVED_REPLIES:
        if not SavedReply.objects.filter(title=title).exists():
            services.save_macro(title, body, intent, owner)


def schedule_stream(rows: list[TicketRow], now: datetime) -> int:
    """A schedule feeding the live tickets one a minute; returns how many it will feed."""
    waiting = [row for row in rows if row.live and not received(row)]
    if not waiting or Schedule.objects.filter(name=STREAM).exists():
        return 0
    Schedule.objects.create(
        name=STREAM,
        func=FEED_JOB,
        schedule_type=Schedule.MINUTES,
        minutes=1,
        repeats=len(waiting),
        next_run=now + timedelta(seconds=30),
    )
    return len(waiting)


def received(row: TicketRow) -> bool:
    return Ticket.objects.filter(channel=row.channel, external_id=external_id(row)).exists()


def demo_ticket_ids() -> list[str]:
    return [external_id(row) for row in read_tickets()]


def count_outcomes(summary: Summary) -> None:
    decisions = Decision.objects.filter(ticket__external_id__in=demo_ticket_ids())
    summary.answered = decisions.filter(action=Decision.Action.AUTO_REPLY).count()
    summary.escalated = decisions.filter(action=Decision.Action.ESCALATE).count()


def feed_next_ticket() -> str:
    """The job behind the live stream: the next ticket arrives now and is triaged by a worker
    like any other. A repeated delivery only moves the stream on: no ticket arrives twice."""
    row = next((r for r in read_tickets() if r.live and not received(r)), None)
    if row is None:
        return "the demo stream is exhausted"
    arrive(row, clock.now(), triage=True)
    return f"received {row.external_id}"


# --- starting over -------------------------------------------------------------------------


def reset() -> None:
    """Remove the demo's own records (never anything else) so the next load starts fresh.
    The audit trail keeps its history, and says the demo was reset."""
    emails = [row.email for row in read_customers()]
    with transaction.atomic():
        tickets = Ticket.objects.filter(external_id__in=demo_ticket_ids())
        ids = [str(pk) for pk in tickets.values_list("pk", flat=True)]
        Approval.objects.filter(subject_type="ticket", subject_id__in=ids).delete()
        tickets.delete()
        Customer.objects.filter(
            identities__kind=Identity.Kind.EMAIL, identities__value__in=emails
        ).delete()
        KnowledgeArticle.objects.filter(slug__in=[a.slug for a in read_articles()]).delete()
        Schedule.objects.filter(name=STREAM).delete()
        InboundEmail.objects.filter(msgid__endswith="@" + MAIL_DOMAIN).delete()
        SavedReply.objects.filter(title__in=[title for title, _, _ in SAVED_REPLIES]).delete()
        demo_billing.reset()
        demo_ops.reset()
        audit.record("cli:demo", "demo.reset", outcome="removed", details={"tickets": len(ids)})
