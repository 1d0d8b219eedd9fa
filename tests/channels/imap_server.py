"""A real IMAP server for the tests: Debian's dovecot, started in a temporary directory.

It runs in the foreground (`dovecot -F`, a child of the test process, stopped by its pid)
with its own configuration: 127.0.0.1 only, two free ports (IMAPS, and IMAP offering
STARTTLS), a CA and server certificate made here with `cryptography`, users in a passwd file
(added per test, so each test starts with an empty INBOX), Maildir storage, a log file
instead of syslog. As root, dovecot refuses to run its login and mail processes as root, so
they run as `dovenull` and `nobody`; as anyone else, everything runs as the current user.
Mail gets into a mailbox the way a mail client would put it there: IMAP APPEND.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import grp
import imaplib
import ipaddress
import os
import pwd
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"
START_SECONDS = 15
PR_SET_PDEATHSIG = 1
ACCOUNTS = 500
UNICODE_PASSWORD = "pässwörd-ünïcode"
# One secret per test run: the accounts' passwords derive from it.
_RUN_SECRET = secrets.token_hex(8)


def account_password(username: str) -> str:
    return f"{username}-{_RUN_SECRET}"


def quoted(folder: str) -> str:
    """imaplib sends names as they are; one with a space must be quoted."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or next(
        (
            path
            for path in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot")
            if os.access(path, os.X_OK)
        ),
        None,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Account:
    server: ImapServer
    username: str
    password: str

    @contextmanager
    def client(self) -> Iterator[imaplib.IMAP4_SSL]:
        trust = self.server.trust()
        connection = imaplib.IMAP4_SSL(HOST, self.server.imaps_port, ssl_context=trust, timeout=10)
        try:
            # AUTHENTICATE PLAIN takes UTF-8; imaplib's LOGIN only ASCII.
            secret = f"\0{self.username}\0{self.password}".encode()
            connection.authenticate("PLAIN", lambda _challenge: secret)
            yield connection
        finally:
            connection.logout()

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        with self.client() as connection:
            # No flags, no date: imaplib leaves out what is empty.
            status, data = cast(
                tuple[str, list[bytes]], connection.append(quoted(folder), "", "", raw)
            )
            assert status == "OK", data

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
    root: Path
    imap_port: int
    imaps_port: int
    ca_file: Path
    process: subprocess.Popen[bytes]
    users: int = 0

    def trust(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def add_account(self, unicode: bool = False) -> Account:
        """The next unused account of the pool: dovecot notices a changed passwd file only
        now and then, so every account exists from the start. `unicode`: one whose
        password is not ASCII."""
        self.users += 1
        if self.users > ACCOUNTS:
            raise RuntimeError(f"the test IMAP server has only {ACCOUNTS} accounts")
        if unicode:
            return Account(self, f"unicode{self.users}", UNICODE_PASSWORD)
        username = f"user{self.users}"
        return Account(self, username, account_password(username))

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else "(no log)"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


def start(binary: str) -> ImapServer:
    root = Path(tempfile.mkdtemp(prefix="founderops-dovecot-"))
    # dovecot's unprivileged processes (as root: dovenull, nobody) must reach the directory.
    root.chmod(0o755)
    ca_file = write_certificates(root)
    (root / "passwd").write_text(passwd_file())
    (root / "mail").mkdir()
    imap_port, imaps_port = free_port(), free_port()
    (root / "dovecot.conf").write_text(config(root, imap_port, imaps_port))
    process = subprocess.Popen(
        [binary, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent,
    )
    server = ImapServer(root, imap_port, imaps_port, ca_file, process)
    try:
        wait_until_listening(server)
    except RuntimeError:
        server.stop()
        raise
    return server


def _die_with_parent() -> None:
    # Linux: should the test process be killed outright, dovecot gets SIGTERM too instead of
    # outliving the run.
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def passwd_file() -> str:
    users = [f"user{n}:{{PLAIN}}{account_password(f'user{n}')}" for n in range(1, ACCOUNTS + 1)]
    users += [f"unicode{n}:{{PLAIN}}{UNICODE_PASSWORD}" for n in range(1, ACCOUNTS + 1)]
    return "\n".join(users) + "\n"


def wait_until_listening(server: ImapServer) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"dovecot exited with {server.process.returncode}: {server.log()}")
        if all(_accepts(port) for port in (server.imap_port, server.imaps_port)):
            return
        time.sleep(0.05)
    raise RuntimeError(f"dovecot did not listen within {START_SECONDS} s: {server.log()}")


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((HOST, port)) == 0


def config(root: Path, imap_port: int, imaps_port: int) -> str:
    me = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    if os.getuid() == 0:
        login_user = "dovenull" if _user_exists("dovenull") else "nobody"
        mail_user = pwd.getpwnam("nobody")
        os.chown(root / "mail", mail_user.pw_uid, mail_user.pw_gid)
        mail_uid, mail_gid = mail_user.pw_uid, mail_user.pw_gid
    else:
        login_user, mail_uid, mail_gid = me, os.getuid(), os.getgid()
    return f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = {HOST}
ssl = yes
ssl_cert = <{root}/server.pem
ssl_key = <{root}/server.key
disable_plaintext_auth = no
auth_mechanisms = plain login
# A wrong password is answered at once (the default waits 2 s against guessing).
auth_failure_delay = 0
default_internal_user = {me}
default_internal_group = {group}
default_login_user = {login_user}
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def write_certificates(root: Path) -> Path:
    """A private CA and a certificate for 127.0.0.1 and localhost signed by it."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "FounderOps test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")]
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = root / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (root / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    (root / "server.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (root / "server.key").chmod(0o600)
    return ca_file
