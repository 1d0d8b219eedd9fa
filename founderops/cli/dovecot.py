"""A private IMAP server: Debian's dovecot in a temporary directory, for `bench email` and tests.

`Dovecot(users, binary).start()` writes its own configuration into a new directory and runs
`dovecot -F -c …` in the foreground as a child of this process (stopped by its pid, never by
name): 127.0.0.1 only, two free ports (IMAPS, and IMAP offering STARTTLS), a CA and a server
certificate for 127.0.0.1 made here with `cryptography`, the users in a passwd file, Maildir
storage and a log file instead of syslog. As root, dovecot refuses to run its login and mail
processes as root, so they run as `dovenull` (or `nobody`) and `nobody`; as anyone else,
everything runs as the current user. Mail gets in the way a mail client puts it there: IMAP
APPEND. Nothing here is used by the running product; it measures and tests the real IMAP path.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import grp
import imaplib
import ipaddress
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from founderops.core.errors import FounderOpsError, InvalidInput

HOST = "127.0.0.1"
START_SECONDS = 15
STOP_SECONDS = 10
CLIENT_TIMEOUT_SECONDS = 30
SEARCH_PATH = ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot")
INSTALL_HINT = "dovecot is not installed: run `make dovecot` (apt-get install dovecot-imapd)"
PR_SET_PDEATHSIG = 1
# passwd-file separates its fields with ":" and its entries with line breaks.
_PASSWD_UNSAFE = frozenset(":\n\r\0")


class DovecotError(FounderOpsError):
    """dovecot did not start or did not answer; the message carries its log."""


def binary() -> str | None:
    """The dovecot executable (it lives in sbin, often not on a user's PATH), or None."""
    found = shutil.which("dovecot")
    if found:
        return found
    return next((path for path in SEARCH_PATH if os.access(path, os.X_OK)), None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def quoted(folder: str) -> str:
    """imaplib sends names as they are; one with a space must be quoted."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Dovecot:
    """One dovecot process with the given users (name → password), each with an empty INBOX.

    dovecot notices a changed passwd file only now and then, so every user is given here.
    """

    def __init__(self, users: Mapping[str, str], executable: str) -> None:
        for name, password in users.items():
            if not name or _PASSWD_UNSAFE & set(name + password):
                raise InvalidInput(
                    f"IMAP user {name!r}: no ':' or line break in names or passwords"
                )
        self.users = dict(users)
        self.executable = executable
        self.root = Path()
        self.imap_port = self.imaps_port = 0
        self.ca_file = Path()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Dovecot:
        self.root = Path(tempfile.mkdtemp(prefix="founderops-dovecot-"))
        # dovecot's unprivileged processes (as root: dovenull, nobody) must reach the directory.
        self.root.chmod(0o755)
        self.ca_file = write_certificates(self.root)
        (self.root / "passwd").write_text(passwd_file(self.users))
        (self.root / "mail").mkdir()
        self.imap_port, self.imaps_port = free_port(), free_port()
        (self.root / "dovecot.conf").write_text(config(self.root, self.imap_port, self.imaps_port))
        self.process = subprocess.Popen(  # noqa: S603 - dovecot, with the configuration above
            [self.executable, "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        try:
            self._wait_until_listening()
        except DovecotError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_SECONDS)
        if self.root != Path():
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def trust(self) -> ssl.SSLContext:
        """A TLS context that trusts this server's private CA (and only the usual checks)."""
        return ssl.create_default_context(cafile=str(self.ca_file))

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.is_file() else "(no log)"

    @contextmanager
    def client(self, username: str, password: str) -> Iterator[imaplib.IMAP4_SSL]:
        """A logged-in IMAPS connection, as a mail client would open one."""
        connection = imaplib.IMAP4_SSL(
            HOST, self.imaps_port, ssl_context=self.trust(), timeout=CLIENT_TIMEOUT_SECONDS
        )
        try:
            # AUTHENTICATE PLAIN carries UTF-8; imaplib's LOGIN only ASCII.
            secret = f"\0{username}\0{password}".encode()
            connection.authenticate("PLAIN", lambda _challenge: secret)
            yield connection
        finally:
            connection.logout()

    def append(self, username: str, mails: Iterable[bytes], folder: str = "INBOX") -> int:
        """APPEND each mail to the user's folder over one connection; returns how many."""
        count = 0
        with self.client(username, self.users[username]) as connection:
            for raw in mails:
                # No flags, no date: imaplib leaves out what is empty.
                status, data = cast(
                    tuple[str, list[bytes]], connection.append(quoted(folder), "", "", raw)
                )
                if status != "OK":
                    raise DovecotError(f"APPEND to {folder} failed: {data!r}")
                count += 1
        return count

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                code = self.process.returncode if self.process else None
                raise DovecotError(f"dovecot exited with {code}: {self.log()}")
            if _accepts(self.imap_port) and _accepts(self.imaps_port):
                return
            time.sleep(0.05)
        raise DovecotError(f"dovecot did not listen within {START_SECONDS} s: {self.log()}")


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((HOST, port)) == 0


def _die_with_parent() -> None:
    # Linux: should this process be killed outright, dovecot gets SIGTERM too instead of
    # outliving it.
    with suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def passwd_file(users: Mapping[str, str]) -> str:
    return "".join(f"{name}:{{PLAIN}}{password}\n" for name, password in users.items())


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
    """A private CA and a certificate for 127.0.0.1 and localhost signed by it; the CA file."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "FounderOps private IMAP CA")])
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
