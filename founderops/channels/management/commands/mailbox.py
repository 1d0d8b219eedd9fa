"""`founderops mailbox add|list|test|poll|remove`: the IMAP mailboxes mail is fetched from.

The password is read from a prompt that does not echo, or with `--password-stdin` from the
first line of standard input (for scripts); it is never printed, logged or audited.
"""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from founderops.channels import imap, mailboxes
from founderops.channels.models import Mailbox
from founderops.core.errors import FounderOpsError

ACTOR = "cli"


class Command(BaseCommand):
    help = "Connect, list, test, poll and remove the IMAP mailboxes customers write to."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        add = actions.add_parser("add", help="connect a mailbox (asks for its app password)")
        add.add_argument("name", help="a short name, e.g. 'support'")
        add.add_argument("--address", required=True, help="the address customers write to")
        add.add_argument("--host", required=True, help="the IMAP server, e.g. imap.gmail.com")
        add.add_argument("--port", type=int, help="default: 993 for imaps, 143 otherwise")
        add.add_argument(
            "--security",
            choices=Mailbox.Security.values,
            default=Mailbox.Security.IMAPS,
            help="imaps (default), starttls, or plain (only for a server on this machine)",
        )
        add.add_argument("--username", default="", help="default: the address")
        add.add_argument("--folder", default="INBOX")
        add.add_argument("--ca-file", default="", help="CA bundle for a private certificate")
        add.add_argument(
            "--password-stdin", action="store_true", help="read the password from standard input"
        )
        add.add_argument(
            "--import-existing",
            action="store_true",
            help="also turn the mail already in the folder into tickets (default: only new mail)",
        )
        actions.add_parser("list", help="list the mailboxes and how their last poll went")
        test = actions.add_parser("test", help="log in and open the folder, fetching nothing")
        test.add_argument("name")
        poll = actions.add_parser("poll", help="fetch new mail now (every mailbox without NAME)")
        poll.add_argument("name", nargs="?")
        remove = actions.add_parser("remove", help="disconnect a mailbox (its mail stays)")
        remove.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        handlers = {
            "add": self.do_add,
            "list": self.do_list,
            "test": self.do_test,
            "poll": self.do_poll,
            "remove": self.do_remove,
        }
        try:
            handlers[options["action"]](options)
        except FounderOpsError as error:
            raise CommandError(str(error)) from None

    def do_add(self, options: dict[str, Any]) -> None:
        config = mailboxes.MailboxConfig(
            name=options["name"],
            address=options["address"],
            host=options["host"],
            username=options["username"],
            port=options["port"],
            security=options["security"],
            folder=options["folder"],
            ca_file=options["ca_file"],
        ).cleaned()
        password = read_password(options["password_stdin"], config.username)
        mailbox = mailboxes.connect_mailbox(
            config, password, ACTOR, only_new=not options["import_existing"]
        )
        self.stdout.write(f"Connected mailbox {mailbox.name!r} ({mailbox.address}).")
        self.stdout.write(f"Check it with `founderops mailbox test {mailbox.name}`.")

    def do_list(self, options: dict[str, Any]) -> None:
        rows = Mailbox.objects.order_by("name")
        if not rows:
            self.stdout.write(
                "No mailboxes yet: `founderops mailbox add NAME --address … --host …`."
            )
        for row in rows:
            self.stdout.write(describe(row))

    def do_test(self, options: dict[str, Any]) -> None:
        self.stdout.write(imap.check_connection(find(options["name"])))

    def do_poll(self, options: dict[str, Any]) -> None:
        if options["name"]:
            results = [imap.poll_mailbox(find(options["name"]))]
        else:
            results = imap.poll_mailboxes()
        if not results:
            self.stdout.write("No enabled mailbox to poll.")
        for result in results:
            self.stdout.write(str(result))
        if any(result.error for result in results):
            raise CommandError("polling failed for at least one mailbox (see above)")

    def do_remove(self, options: dict[str, Any]) -> None:
        mailbox = find(options["name"])
        mailboxes.remove_mailbox(mailbox, ACTOR)
        self.stdout.write(f"Removed mailbox {options['name']!r}; the mail it delivered stays.")


def read_password(from_stdin: bool, username: str) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass(f"App password for {username}: ")
    else:
        raise CommandError("no terminal to ask for the password: pass it with --password-stdin")
    if not password:
        raise CommandError("the password is empty")
    return password


def find(name: str) -> Mailbox:
    mailbox = Mailbox.objects.filter(name=name).first()
    if mailbox is None:
        raise CommandError(f"no mailbox named {name!r} (see `founderops mailbox list`)")
    return mailbox


def describe(mailbox: Mailbox) -> str:
    polled = (
        f"last polled {mailbox.last_polled_at:%Y-%m-%d %H:%M}"
        if mailbox.last_polled_at
        else "never polled"
    )
    state = "enabled" if mailbox.enabled else "disabled"
    error = f", last error: {mailbox.last_error}" if mailbox.last_error else ""
    return (
        f"{mailbox.name}  {mailbox.address}  {mailbox.security}://{mailbox.host}:{mailbox.port}"
        f"/{mailbox.folder}  {state}, {polled}, last UID {max(mailbox.last_uid, 0)}{error}"
    )
