"""A real IMAP server for the tests: the product's private dovecot (`founderops.cli.dovecot`).

One server per test session with a pool of accounts made at start (dovecot notices a changed
passwd file only now and then), handed out one per test so that each test starts with an
empty INBOX. Mail gets into a mailbox the way a mail client would put it there: IMAP APPEND.
"""

from __future__ import annotations

import imaplib
import secrets
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from founderops.cli import dovecot
from founderops.cli.dovecot import HOST, Dovecot, free_port, quoted

__all__ = ["HOST", "Account", "ImapServer", "dovecot_binary", "free_port", "quoted", "start"]

ACCOUNTS = 500
UNICODE_PASSWORD = "pässwörd-ünïcode"
# One secret per test run: the accounts' passwords derive from it.
_RUN_SECRET = secrets.token_hex(8)


def account_password(username: str) -> str:
    return f"{username}-{_RUN_SECRET}"


def dovecot_binary() -> str | None:
    return dovecot.binary()


def pool() -> dict[str, str]:
    users = {f"user{n}": account_password(f"user{n}") for n in range(1, ACCOUNTS + 1)}
    return users | {f"unicode{n}": UNICODE_PASSWORD for n in range(1, ACCOUNTS + 1)}


@dataclass(frozen=True)
class Account:
    server: ImapServer
    username: str
    password: str

    @contextmanager
    def client(self) -> Iterator[imaplib.IMAP4_SSL]:
        with self.server.dovecot.client(self.username, self.password) as connection:
            yield connection

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        self.server.dovecot.append(self.username, [raw], folder)

    def create(self, folder: str) -> None:
        with self.client() as connection:
            status, data = connection.create(quoted(folder))
            assert status == "OK", data

    def delete(self, folder: str) -> None:
        with self.client() as connection:
            status, data = connection.delete(quoted(folder))
            assert status == "OK", data


@dataclass
class ImapServer:
    dovecot: Dovecot
    users: int = 0

    @property
    def root(self) -> Path:
        return self.dovecot.root

    @property
    def imap_port(self) -> int:
        return self.dovecot.imap_port

    @property
    def imaps_port(self) -> int:
        return self.dovecot.imaps_port

    @property
    def ca_file(self) -> Path:
        return self.dovecot.ca_file

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self.dovecot.process

    def trust(self) -> ssl.SSLContext:
        return self.dovecot.trust()

    def add_account(self, unicode: bool = False) -> Account:
        """The next unused account of the pool. `unicode`: one whose password is not ASCII."""
        self.users += 1
        if self.users > ACCOUNTS:
            raise RuntimeError(f"the test IMAP server has only {ACCOUNTS} accounts")
        if unicode:
            return Account(self, f"unicode{self.users}", UNICODE_PASSWORD)
        username = f"user{self.users}"
        return Account(self, username, account_password(username))

    def log(self) -> str:
        return self.dovecot.log()

    def stop(self) -> None:
        self.dovecot.stop()


def start(binary: str) -> ImapServer:
    return ImapServer(Dovecot(pool(), binary).start())
