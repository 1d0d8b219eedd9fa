"""The demo workspace's own content: every file parses and holds what the agent needs."""

from __future__ import annotations

from typing import Any

import pytest

from founderops.cli import demo
from founderops.support.importers import ArticleFile

ARTICLES = demo.read_articles()
CUSTOMERS = demo.read_customers()
TICKETS = demo.read_tickets()
RESERVED_DOMAINS = ("example.com", "example.org", "example.net")


def test_it_ships_about_thirty_articles() -> None:
    assert 28 <= len(ARTICLES) <= 40


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: a.slug)
def test_it_gives_every_article_a_title_an_answer_and_eight_examples(
    article: ArticleFile,
) -> None:
    assert article.title
    assert article.body
    assert article.answer
    assert len(set(article.examples)) >= 8


def test_it_keeps_every_intent_unique_and_snake_case() -> None:
    intents = [a.intent for a in ARTICLES]
    assert len(set(intents)) == len(intents)
    assert all(i.isidentifier() and i == i.lower() for i in intents)


def test_it_uses_only_reserved_example_domains_for_customers() -> None:
    domains = {c.email.rsplit("@", 1)[1] for c in CUSTOMERS}
    assert all(d in RESERVED_DOMAINS or d.endswith(RESERVED_DOMAINS) for d in domains)
    assert all(d.split(".")[-2] == "example" for d in domains)


def test_it_sends_every_ticket_from_a_demo_customer() -> None:
    emails = {c.email for c in CUSTOMERS}
    assert {t.email for t in TICKETS} <= emails


def test_it_numbers_tickets_uniquely() -> None:
    ids = [t.external_id for t in TICKETS]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith(demo.TICKET_PREFIX) for i in ids)


def test_it_spreads_the_history_over_three_days_and_keeps_some_for_the_live_stream() -> None:
    past = [t.offset_minutes for t in TICKETS if not t.live]
    assert min(past) >= -3 * 24 * 60
    assert len(past) >= 50
    assert 3 <= sum(1 for t in TICKETS if t.live) <= 10


def test_it_phrases_tickets_unlike_the_article_examples() -> None:
    examples = {e.lower().strip(" ?!.") for a in ARTICLES for e in a.examples}
    assert not [t.external_id for t in TICKETS if t.body.lower().strip(" ?!.") in examples]


def failed_payment() -> ArticleFile:
    return next(a for a in demo.read_articles() if a.intent == "failed_payment")


def test_it_leaves_no_placeholder_unfilled_in_the_articles() -> None:
    assert not [a.slug for a in ARTICLES if "{{" in a.body + a.answer]


def test_it_promises_the_retries_and_reminders_dunning_runs_by_default() -> None:
    article = failed_payment()
    retries = "retry the payment automatically after 3, 7 and 14 days"
    assert retries in article.body
    assert retries in article.answer
    assert "email the account owner right away and again after 3, 7 and 14 days" in article.body


def test_it_follows_the_founders_own_dunning_days(settings: Any) -> None:
    settings.DUNNING_RETRY_DAYS = [1]
    settings.DUNNING_SCHEDULE_DAYS = [2, 5]
    article = failed_payment()
    assert "retry the payment automatically after 1 day" in article.answer
    assert "email the account owner after 2 and 5 days" in article.body


def test_it_says_so_when_the_founder_turns_the_retries_and_reminders_off(settings: Any) -> None:
    settings.DUNNING_RETRY_DAYS = []
    settings.DUNNING_SCHEDULE_DAYS = [0]
    article = failed_payment()
    assert "do not retry the payment on our own" in article.body
    assert "email the account owner right away," in article.body
