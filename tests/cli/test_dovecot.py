"""The private dovecot that `bench email` and the inbound tests run: started, fed, stopped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from founderops.cli import dovecot
from founderops.cli.dovecot import Dovecot, DovecotError
from founderops.core.errors import InvalidInput
from tests.channels.mails import mail

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def executable() -> str:
    found = dovecot.binary()
    if found is None:
        pytest.skip(dovecot.INSTALL_HINT)
    return found


@pytest.fixture(scope="module")
def server(executable: str) -> Iterator[Dovecot]:
    with Dovecot({"ada": "s3cret pass", "bob": "another"}, executable) as running:
        yield running


def message_count(server: Dovecot, user: str, password: str) -> int:
    with server.client(user, password) as connection:
        status, data = connection.select("INBOX", readonly=True)
        assert status == "OK", data
        return int(data[0] or b"0")


def test_it_serves_appended_mail_over_imaps(server: Dovecot) -> None:
    appended = server.append("ada", [mail(msgid="<one@mail.example.com>"), mail(msgid=None)])
    assert (appended, message_count(server, "ada", "s3cret pass")) == (2, 2)


def test_it_gives_each_user_a_mailbox_of_their_own(server: Dovecot) -> None:
    server.append("ada", [mail(msgid="<two@mail.example.com>")])
    assert message_count(server, "bob", "another") == 0


def test_it_listens_on_loopback_only(server: Dovecot) -> None:
    assert f"listen = {dovecot.HOST}\n" in (server.root / "dovecot.conf").read_text()


def test_it_removes_its_directory_once_stopped(executable: str) -> None:
    server = Dovecot({"ada": "pass"}, executable).start()
    root = server.root
    server.stop()
    assert (root.exists(), server.process) == (False, None)


def test_it_says_what_went_wrong_when_dovecot_cannot_start() -> None:
    with pytest.raises(DovecotError, match="dovecot exited with 1"):
        Dovecot({"ada": "pass"}, "/bin/false").start()


@pytest.mark.parametrize(("user", "password"), [("ada", "a:b"), ("ada", "two\nlines"), ("", "x")])
def test_it_refuses_users_the_passwd_file_cannot_hold(user: str, password: str) -> None:
    with pytest.raises(InvalidInput, match="no ':' or line break"):
        Dovecot({user: password}, "/usr/sbin/dovecot")
