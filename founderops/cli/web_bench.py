"""`founderops bench web`: cockpit pages under load, on a database of generated tickets.

The bench fills an empty database (10,000 tickets by default, a tenth of them waiting in the
inbox), signs in one session per simulated user, starts `founderops web` as its own process
on loopback, and has every user load the pages in turn as fast as the server answers. The
load generator runs in this process and the server in another, so they don't share a GIL.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.core.management.base import CommandError

from founderops.ai.models import Approval
from founderops.core import clock
from founderops.customers.models import Customer
from founderops.support import services
from founderops.support.models import Message, Rating, Ticket

SUBJECTS = (
    "Can't reset my password",
    "Refund for last month",
    "Export my posts to CSV",
    "Custom domain not verifying",
    "Invoice address is wrong",
    "Newsletter stuck in 'sending'",
    "How do I import subscribers?",
    "Charged twice this month",
)


@dataclass(frozen=True)
class Seeded:
    tickets: int
    pending: int
    customers: int


def seed(tickets: int, seed_value: int = 7) -> Seeded:
    """Tickets over the last 90 days: most answered, a tenth escalated and pending."""
    rng = random.Random(seed_value)
    now = clock.now()
    people = Customer.objects.bulk_create(
        [
            Customer(name=f"Customer {n}", email=f"customer{n}@example.com", created_at=now)
            for n in range(max(tickets // 5, 1))
        ],
        batch_size=1000,
    )
    rows = [_ticket(n, rng, people, now) for n in range(tickets)]
    made = Ticket.objects.bulk_create(rows, batch_size=1000)
    Message.objects.bulk_create(
        [_message(t, author="customer", at=t.created_at) for t in made], batch_size=1000
    )
    replies = Message.objects.bulk_create(
        [_message(t, author="agent", at=t.first_response_at) for t in made if t.first_response_at],
        batch_size=1000,
    )
    Rating.objects.bulk_create(
        [_rating(m, rng) for m in replies if rng.random() < 0.2], batch_size=1000
    )
    waiting = [t for t in made if t.status == Ticket.Status.ESCALATED]
    Approval.objects.bulk_create([_approval(t) for t in waiting], batch_size=1000)
    return Seeded(len(made), len(waiting), len(people))


def _ticket(n: int, rng: random.Random, people: Sequence[Customer], now: datetime) -> Ticket:
    created = now - timedelta(minutes=rng.randint(1, 90 * 24 * 60))
    escalated = n % 10 == 0
    return Ticket(
        customer=people[n % len(people)],
        channel=rng.choice([Ticket.Channel.EMAIL, Ticket.Channel.CHAT, Ticket.Channel.API]),
        subject=f"{rng.choice(SUBJECTS)} ({n})",
        status=Ticket.Status.ESCALATED if escalated else Ticket.Status.ANSWERED_AUTO,
        intent="reset_password",
        confidence=rng.random(),
        priority=rng.choice(list(Ticket.Priority.values)),
        sentiment=rng.choice(list(Ticket.Sentiment.values)),
        language="en",
        created_at=created,
        first_response_at=None if escalated else created + timedelta(seconds=rng.randint(1, 90)),
        resolved_by="" if escalated else "agent",
    )


def _message(ticket: Ticket, author: str, at: datetime | None) -> Message:
    text = f"{ticket.subject}\nHello, this is about my account. Thanks!"
    if author != "customer":
        text = "Open Settings → Security and choose Reset password."
    return Message(ticket=ticket, author=author, body=text, created_at=at or ticket.created_at)


def _rating(message: Message, rng: random.Random) -> Rating:
    score = Rating.Score.GOOD if rng.random() < 0.9 else Rating.Score.BAD
    return Rating(
        message=message,
        ticket_id=message.ticket_id,
        score=score,
        channel="email",
        created_at=message.created_at,
    )


def _approval(ticket: Ticket) -> Approval:
    return Approval(
        created_at=ticket.created_at,
        agent=services.AGENT,
        action=services.REPLY,
        subject_type="ticket",
        subject_id=str(ticket.pk),
        summary=f"Reply to {ticket.customer_id}: {ticket.subject}"[:300],
        reason="not confident enough",
        payload={"draft": "Hello! Open Settings → Security.", "intent": ticket.intent},
    )


def sign_in(users: int) -> list[str]:
    """One session per simulated user, all for one staff account (as browsers would hold)."""
    user, _ = User.objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    keys = []
    for _ in range(users):
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        keys.append(str(session.session_key))
    return keys


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(threads: int) -> Iterator[str]:
    """`founderops web` in its own process, on this database; yields its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "founderops.cli.main", "web", "--port", str(port)]
    command += ["--threads", str(threads)]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and command
        command, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            # Threads stuck on requests the load generator gave up on: stop it for good.
            process.kill()
            process.wait(timeout=30)


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode()[-500:] if process.stderr else ""
            raise CommandError(f"the web server stopped: {error}")
        try:
            httpx.get(base + "/login/", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise CommandError("the web server did not answer within 60 s")


@dataclass
class Timings:
    by_path: dict[str, list[float]]
    errors: int = 0


def quiet_http_logs() -> None:
    # httpx logs every request at INFO; thousands of lines would bury the figures.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def load(
    base: str, sessions: Sequence[str], paths: Sequence[str], rounds: int, think: float = 0.0
) -> Timings:
    """Every user loads each path in turn `rounds` times, all users at once, pausing `think`
    seconds after each page as a person reads it (0: as fast as the server answers)."""
    quiet_http_logs()
    timings = Timings({path: [] for path in paths})
    lock = threading.Lock()
    start = threading.Barrier(len(sessions))

    def user(key: str) -> None:
        rng = random.Random(key)
        cookies = {settings.SESSION_COOKIE_NAME: key}
        with httpx.Client(base_url=base, cookies=cookies, timeout=60) as client:
            start.wait()
            for _ in range(rounds):
                for path in paths:
                    began = time.perf_counter()
                    response = client.get(path)
                    spent = time.perf_counter() - began
                    with lock:
                        timings.by_path[path].append(spent)
                        timings.errors += response.status_code != 200
                    time.sleep(think * rng.uniform(0.5, 1.5))

    workers = [threading.Thread(target=user, args=(key,)) for key in sessions]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return timings


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def report(timings: Timings, seconds: float) -> dict[str, object]:
    pages = {
        path: {
            "requests": len(spent),
            "p50_ms": round(percentile(spent, 0.50) * 1000, 1),
            "p95_ms": round(percentile(spent, 0.95) * 1000, 1),
        }
        for path, spent in timings.by_path.items()
        if spent
    }
    total = sum(len(spent) for spent in timings.by_path.values())
    return {
        "pages": pages,
        "errors": timings.errors,
        "requests_per_second": round(total / seconds, 1) if seconds else None,
    }
