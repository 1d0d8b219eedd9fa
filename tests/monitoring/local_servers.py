"""Real servers on 127.0.0.1 for the checks' tests: HTTP, TLS, DNS, and certificates."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address
from pathlib import Path

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from founderops.monitoring.probes import ProbeResult

BIG_BYTES = 5 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        route = ROUTES.get(path)
        if route is None:
            self._send(404, b"not found")
            return
        route(self)

    def _send(
        self,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        kind: str = "text/plain",
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, to: str) -> None:
        self.send_response(302)
        self.send_header("Location", to)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _big(handler: _Handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "text/plain")
    handler.end_headers()
    chunk = b"x" * 65536
    try:
        for _ in range(BIG_BYTES // len(chunk)):
            handler.wfile.write(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the check stopped reading at its cap, as it should


def _hang(handler: _Handler) -> None:
    handler.server.release.wait(10)


def _slow(handler: _Handler) -> None:
    time.sleep(handler.server.delay_s)
    handler._send(200, b"hello world")


ROUTES: dict[str, Callable[[_Handler], None]] = {
    "/ok": lambda h: h._send(200, b"hello world, all systems go"),
    "/error": lambda h: h._send(500, b"internal error"),
    "/json": lambda h: h._send(
        200,
        json.dumps({"data": {"status": "ok", "items": [{"name": "db"}]}, "count": 2}).encode(),
        kind="application/json",
    ),
    "/redirect": lambda h: h._redirect("/ok"),
    "/loop-a": lambda h: h._redirect("/loop-b"),
    "/loop-b": lambda h: h._redirect("/loop-a"),
    "/chain-1": lambda h: h._redirect("/chain-2"),
    "/chain-2": lambda h: h._redirect("/chain-3"),
    "/chain-3": lambda h: h._redirect("/ok"),
    "/big": _big,
    "/hang": _hang,
    "/slow": _slow,
    "/limited": lambda h: h._send(
        200, b"ok", headers={"X-RateLimit-Remaining": "5", "X-RateLimit-Limit": "100"}
    ),
    "/roomy": lambda h: h._send(
        200, b"ok", headers={"RateLimit-Remaining": "80", "RateLimit-Limit": "100"}
    ),
    "/throttled": lambda h: h._send(429, b"slow down", headers={"Retry-After": "30"}),
}


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    release: threading.Event
    delay_s: float = 0.0


@dataclass
class Http:
    server: _HttpServer

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base + path


@contextmanager
def http_server() -> Iterator[Http]:
    server = _HttpServer(("127.0.0.1", 0), _Handler)
    server.release = threading.Event()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield Http(server)
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def listening() -> Iterator[int]:
    """A TCP port that accepts connections (the backlog does; nobody reads)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


# --- certificates -----------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    """A CA and leaf certificates for 127.0.0.1 signed by it, written to `folder`."""

    folder: Path

    @property
    def ca_file(self) -> str:
        return str(self.folder / "ca.pem")

    def leaf(self, name: str) -> tuple[str, str]:
        return str(self.folder / f"{name}.pem"), str(self.folder / f"{name}.key")


def make_pki(folder: Path, now: datetime | None = None) -> Pki:
    now = now or datetime.now(tz=UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "FounderOps Test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=365))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    leaves = {
        "valid": (now - timedelta(days=1), now + timedelta(days=90), "127.0.0.1"),
        "soon": (now - timedelta(days=80), now + timedelta(days=5, hours=12), "127.0.0.1"),
        "expired": (now - timedelta(days=90), now - timedelta(days=3, hours=2), "127.0.0.1"),
        "wrong-host": (now - timedelta(days=1), now + timedelta(days=90), "127.0.0.9"),
    }
    for name, (start, end, address) in leaves.items():
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(IPv4Address(address))]), critical=False
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        (folder / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (folder / f"{name}.key").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return Pki(folder)


@contextmanager
def tls_server(cert_file: str, key_file: str, http: bool = False) -> Iterator[int]:
    """A TLS server on 127.0.0.1: completes handshakes (and answers HTTP with `http`)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.05)
    stopping = threading.Event()

    def serve() -> None:
        while not stopping.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=_tls_reply, args=(context, raw, http), daemon=True).start()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stopping.set()
        thread.join()
        listener.close()


def _tls_reply(context: ssl.SSLContext, raw: socket.socket, http: bool) -> None:
    raw.settimeout(5)
    try:
        with context.wrap_socket(raw, server_side=True) as tls:
            if http:
                tls.recv(65536)
                tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            else:
                tls.recv(1)  # until the client closes
    except (ssl.SSLError, OSError):
        pass  # the client refused the certificate: that is what some tests want


# --- DNS --------------------------------------------------------------------------------


@contextmanager
def dns_server(
    records: dict[tuple[str, str], list[str]], silent: frozenset[str] = frozenset()
) -> Iterator[int]:
    """A UDP name server on 127.0.0.1: answers `records`, NXDOMAIN for others, and never
    replies for names in `silent` (a timeout)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.05)
    stopping = threading.Event()

    def serve() -> None:
        while not stopping.is_set():
            try:
                wire, client = sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(wire)
            question = query.question[0]
            name = question.name.to_text().rstrip(".").lower()
            if name in silent:
                continue
            response = dns.message.make_response(query)
            response.flags |= dns.flags.AA
            kind = dns.rdatatype.to_text(question.rdtype)
            values = records.get((name, kind))
            if values:
                response.answer.append(
                    dns.rrset.from_text_list(question.name, 60, "IN", kind, values)
                )
            elif not any(known == name for known, _ in records):
                response.set_rcode(dns.rcode.NXDOMAIN)
            sock.sendto(response.to_wire(), client)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stopping.set()
        thread.join()
        sock.close()


def probe(monitor: object, max_body_bytes: int = 1024 * 1024) -> ProbeResult:
    """Run one check of an (unsaved) monitor on a fresh context."""
    from founderops.monitoring import checks
    from founderops.monitoring.models import Monitor

    assert isinstance(monitor, Monitor)

    async def once() -> ProbeResult:
        context = checks.Context(max_body_bytes=max_body_bytes)
        try:
            return await checks.run(monitor, context)
        finally:
            await context.aclose()

    return asyncio.run(once())
