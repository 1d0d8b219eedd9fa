"""The browser suite's world: the app on a live server, a real IMAP server (dovecot), a real
SMTP relay (aiosmtpd), and a small help centre with a classifier trained once per module.

Jobs run inline (FOUNDEROPS_JOBS_SYNC, the embedded debugging mode): a mail polled from the
mailbox is processed and triaged at once, and a reply approved in the browser leaves by SMTP
before the page reloads, through the same `jobs.enqueue` calls a worker would serve.

The tests are transactional (the live server's thread must see their rows), so the database
is emptied after each one. Training the classifier takes about a second: each module trains
once in a transaction it rolls back, keeps the model's bytes, and every test stores them
again next to the help centre they were trained on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import transaction

from founderops.ai import registry
from founderops.ai.models import TrainedModel
from founderops.channels import mailboxes
from founderops.channels.models import Mailbox
from founderops.core import clock
from founderops.support import services
from founderops.support.models import TrainingExample
from tests.channels import imap_server as imap_server_module
from tests.channels.imap_server import HOST, Account, ImapServer
from tests.channels.smtp_server import Recorder, running
from tests.channels.widget_cast import ARTICLES, OUT_OF_SCOPE, build_and_train

SUPPORT_ADDRESS = "help@inkwell.example"


@dataclass(frozen=True)
class Snapshot:
    """A trained model row, as bytes and figures, to be stored again in each test."""

    name: str
    version: int
    blob: bytes
    n_examples: int
    metrics: dict[str, Any]


@pytest.fixture(autouse=True, scope="session")
def _static_root() -> None:
    # WhiteNoise warns (an error under our filterwarnings) when STATIC_ROOT does not exist
    # yet; session-scoped so that it runs before the live server starts.
    Path(django_settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def _jobs_inline(settings: Any) -> None:
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}


@pytest.fixture(scope="module")
def trained_model(django_db_setup: None, django_db_blocker: Any) -> Snapshot:
    with django_db_blocker.unblock(), transaction.atomic():
        build_and_train()
        row = TrainedModel.objects.get()
        snapshot = Snapshot(row.name, row.version, bytes(row.blob), row.n_examples, row.metrics)
        transaction.set_rollback(True)
    registry.forget()  # the row it cached is gone with the rollback
    return snapshot


@pytest.fixture
def help_centre(db: None, trained_model: Snapshot) -> None:
    """The widget tests' help centre (reset password, refunds, export) and its classifier."""
    for slug, title, intent, answer, examples in ARTICLES:
        services.save_article(slug, title, intent, f"About: {title}.", answer, examples)
    now = clock.now()
    TrainingExample.objects.bulk_create(
        TrainingExample(
            text=text, intent="oos", source=TrainingExample.Source.IMPORT, created_at=now
        )
        for text in OUT_OF_SCOPE
    )
    TrainedModel.objects.create(
        name=trained_model.name,
        version=trained_model.version,
        created_at=now,
        blob=trained_model.blob,
        n_examples=trained_model.n_examples,
        metrics=trained_model.metrics,
    )


@pytest.fixture
def smtp(settings: Any) -> Iterator[Recorder]:
    """A real SMTP relay on 127.0.0.1 that accepts and keeps every mail."""
    recorder = Recorder()
    with running(recorder) as port:
        settings.SMTP_URL = f"smtp+plain://{HOST}:{port}"
        yield recorder


@pytest.fixture(scope="session")
def imap_server() -> Iterator[ImapServer]:
    binary = imap_server_module.dovecot_binary()
    if binary is None:
        pytest.skip("dovecot is not installed: `make dovecot` (apt-get install dovecot-imapd)")
    server = imap_server_module.start(binary)
    yield server
    server.stop()


@pytest.fixture
def imap_account(imap_server: ImapServer) -> Account:
    """A fresh IMAP user with an empty INBOX."""
    return imap_server.add_account()


@pytest.fixture
def mailbox(db: None, imap_account: Account) -> Mailbox:
    """The founder's support mailbox, connected over IMAPS as `founderops mailbox add` does."""
    server = imap_account.server
    config = mailboxes.MailboxConfig(
        name="Help",
        address=SUPPORT_ADDRESS,
        host=HOST,
        username=imap_account.username,
        port=server.imaps_port,
        ca_file=str(server.ca_file),
    )
    return mailboxes.connect_mailbox(config, imap_account.password, "user:fiona", only_new=False)
