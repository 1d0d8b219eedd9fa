"""Support: the knowledge base, tickets and their messages, and the agent's decisions."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.sql.compiler import SQLCompiler

from founderops.core import personal_data
from founderops.customers.models import Customer


class SecondsBetween(models.Func):
    """`later - earlier` in seconds (a float), in SQL that a generated column may hold.

    Django's own datetime subtraction is a Python function on SQLite: fine in a query, but it
    runs once per row, and a column computed by the database must use the database's own
    functions. SQLite counts whole milliseconds (julianday), PostgreSQL microseconds.
    """

    arity = 2
    output_field = models.FloatField()

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, list[Any]]:
        (later, earlier), params = self._compiled(compiler)
        return f"CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS double precision)", params

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, list[Any]]:
        (later, earlier), params = self._compiled(compiler)
        return f"ROUND((julianday({later}) - julianday({earlier})) * 86400.0, 3)", params

    def _compiled(self, compiler: SQLCompiler) -> tuple[list[str], list[Any]]:
        """Each argument's SQL, and all their parameters in the order the SQL uses them."""
        sqls: list[str] = []
        params: list[Any] = []
        for source in self.get_source_expressions():
            sql, more = compiler.compile(source)
            sqls.append(sql)
            params.extend(more)
        return sqls, params


class KnowledgeArticle(models.Model):
    slug = models.SlugField(max_length=120, unique=True)
    title = models.CharField(max_length=200)
    intent = models.CharField(
        max_length=100,
        db_index=True,
        help_text="The request this article answers, e.g. reset_password",
    )
    body = models.TextField(help_text="Markdown")
    answer = models.TextField(help_text="The reply sent to a customer (Markdown)")
    examples = models.JSONField(
        default=list, blank=True, help_text="Example questions customers ask"
    )
    published = models.BooleanField(default=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class Ticket(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        CHAT = "chat", "Chat widget"
        API = "api", "API"
        IMPORT = "import", "Import"
        WEB = "web", "Dashboard"

    class Status(models.TextChoices):
        NEW = "new", "New"
        ANSWERED_AUTO = "answered_auto", "Answered by the agent"
        ESCALATED = "escalated", "Waiting for the founder"
        ANSWERED = "answered", "Answered by the founder"
        CLOSED = "closed", "Closed"

    class Priority(models.IntegerChoices):
        URGENT = 1, "Urgent"
        HIGH = 2, "High"
        NORMAL = 3, "Normal"
        LOW = 4, "Low"

    class Sentiment(models.TextChoices):
        NEGATIVE = "negative", "Negative"
        NEUTRAL = "neutral", "Neutral"
        POSITIVE = "positive", "Positive"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tickets")
    # The source's id: unique per channel (a help desk's "17" is not a chat's "17").
    external_id = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 - NULLs are exempt from the unique constraint
    channel = models.CharField(max_length=20, choices=Channel.choices)
    subject = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.NEW, db_index=True
    )
    intent = models.CharField(max_length=100, blank=True, db_index=True)
    confidence = models.FloatField(null=True, blank=True)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    sentiment = models.CharField(max_length=20, choices=Sentiment.choices, blank=True)
    language = models.CharField(max_length=16, blank=True)
    article = models.ForeignKey(
        KnowledgeArticle, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    created_at = models.DateTimeField(db_index=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    # Kept by the database, so every way a ticket is written (a reply, an import, a fix of
    # created_at) keeps it right; the home page and briefings sort by it for percentiles.
    first_response_s = models.GeneratedField(
        expression=SecondsBetween(models.F("first_response_at"), models.F("created_at")),
        output_field=models.FloatField(null=True),
        db_persist=True,
        help_text="Seconds from arrival to the first reply (None: not answered yet)",
    )
    resolved_by = models.CharField(max_length=20, blank=True, help_text="agent or founder")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], name="ticket_unique_external_id_per_channel"
            )
        ]
        indexes = [
            # A window's answered tickets by wait, read from the index alone (percentiles).
            models.Index(fields=["created_at", "first_response_s"], name="ticket_wait_by_day"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def first_response_seconds(self) -> float | None:
        if self.first_response_at is None:
            return None
        return (self.first_response_at - self.created_at).total_seconds()


class Message(models.Model):
    class Author(models.TextChoices):
        CUSTOMER = "customer", "Customer"
        AGENT = "agent", "Support Agent"
        FOUNDER = "founder", "Founder"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.CharField(max_length=20, choices=Author.choices)
    body = models.TextField()
    created_at = models.DateTimeField()
    # The source's id (an email's Message-ID, an API client's key): a retry stores nothing new.
    external_id = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001 - NULLs are exempt from the unique constraint

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "external_id"], name="message_unique_external_id_per_ticket"
            )
        ]

    def __str__(self) -> str:
        return f"{self.author}: {self.body[:40]}"


class Decision(models.Model):
    """One decision of the Support Agent on a ticket, with everything it was based on."""

    class Action(models.TextChoices):
        AUTO_REPLY = "auto_reply", "Answered automatically"
        ESCALATE = "escalate", "Escalated to the founder"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="decisions")
    created_at = models.DateTimeField()
    action = models.CharField(max_length=20, choices=Action.choices)
    intent = models.CharField(max_length=100, blank=True)
    confidence = models.FloatField()
    similarity = models.FloatField(default=0.0)
    threshold = models.FloatField(default=0.0)
    article = models.ForeignKey(KnowledgeArticle, null=True, blank=True, on_delete=models.SET_NULL)
    reason = models.TextField()
    draft = models.TextField(blank=True)
    model_version = models.CharField(max_length=100)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One decision per ticket: a job that runs twice finds the first one.
            models.UniqueConstraint(fields=["ticket"], name="decision_one_per_ticket")
        ]

    def __str__(self) -> str:
        return f"{self.action} #{self.ticket_id}"


class TrainingExample(models.Model):
    """A labelled request the classifier learns from (articles, corrections, imports)."""

    class Source(models.TextChoices):
        ARTICLE = "article", "Knowledge base example"
        CORRECTION = "correction", "Founder's correction"
        APPROVAL = "approval", "Founder approved the agent"
        IMPORT = "import", "Imported"

    text = models.TextField()
    intent = models.CharField(
        max_length=100, db_index=True, help_text="'oos' marks a request the agent must not answer"
    )
    source = models.CharField(max_length=20, choices=Source.choices)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.CASCADE)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.intent}: {self.text[:40]}"


class Rating(models.Model):
    """CSAT: the customer's one-click verdict on a reply (the latest click counts)."""

    class Score(models.TextChoices):
        GOOD = "good", "Good"
        BAD = "bad", "Not good"

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="rating")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="ratings")
    score = models.CharField(max_length=10, choices=Score.choices)
    comment = models.TextField(blank=True)
    channel = models.CharField(max_length=20, help_text="where the customer clicked: email, chat")
    created_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.score} on #{self.ticket_id}"


class SavedReply(models.Model):
    """A macro: an answer the founder reuses, inserted into a draft in one click."""

    title = models.CharField(max_length=120, unique=True)
    body = models.TextField(help_text="Markdown; {name} becomes the customer's first name")
    intent = models.CharField(max_length=100, blank=True, help_text="Suggested for this intent")
    uses = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


personal_data.not_personal(
    KnowledgeArticle, ("slug", "title", "intent", "body", "answer", "examples")
)
personal_data.personal(Ticket, ("subject", "external_id"), customer_path="customer")
personal_data.not_personal(
    Ticket, ("channel", "status", "intent", "sentiment", "language", "resolved_by")
)
personal_data.personal(Message, ("body", "external_id"), customer_path="ticket__customer")
personal_data.not_personal(Message, ("author",))
personal_data.personal(Decision, ("reason", "draft", "details"), customer_path="ticket__customer")
personal_data.not_personal(Decision, ("action", "intent", "model_version"))
personal_data.personal(TrainingExample, ("text",), customer_path="ticket__customer")
personal_data.not_personal(TrainingExample, ("intent", "source"))
personal_data.personal(Rating, ("comment",), customer_path="ticket__customer")
personal_data.not_personal(Rating, ("score", "channel"))
personal_data.not_personal(SavedReply, ("title", "body", "intent"))
