"""Local targets for the outage harness: HTTP(S) services on 127.0.0.1 that fail on cue.

The targets run in their own process (multiprocessing, spawned), so their CPU is not counted
as the monitoring engine's. One asyncio loop serves them all: a target with its own port
(`own_port`) can be *refused* (its listening socket closed, as when the service is gone); the
others share one port and are told apart by path (`/t/<name>`). Every target answers after
its own intrinsic latency (so that a slowdown is measurable) with a body holding `KEYWORD`.

Faults, each switched on and off through the control pipe, at once or on a schedule the
child runs itself (so the parent's event loop is not disturbed to inject them):

- `refuse`: the port is closed; connections are refused.
- `error500`: HTTP 500.
- `hang`: the request is read and never answered.
- `keyword`: HTTP 200 without the keyword (a broken page that still "works").
- `expired`: the TLS handshake shows an expired certificate (HTTPS targets).
- `slow30` / `slow200`: the latency times 1.3 / 3.0.

The child logs the wall-clock time each fault really began and ended; time to detect is
measured from those.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import multiprocessing
import random
import ssl
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HARD_FAULTS = ("refuse", "error500", "hang", "keyword", "expired")
SLOW_FAULTS = ("slow30", "slow200")
FAULTS = HARD_FAULTS + SLOW_FAULTS
SLOWDOWN = {"slow30": 1.3, "slow200": 3.0}
KEYWORD = "all-systems-go"
HOST = "127.0.0.1"
# A hung request is dropped after this long even if the client still waits.
HANG_LIMIT_S = 300.0
# Healthy latency varies this much around the target's intrinsic latency.
JITTER = 0.05
STARTUP_S = 30.0


@dataclass(frozen=True)
class TargetSpec:
    name: str
    latency_ms: float = 80.0
    tls: bool = False
    # Needed to refuse: closing a shared port would refuse every target on it.
    own_port: bool = False


@dataclass(frozen=True)
class Fault:
    """`kind` on `target` from `at` seconds after the schedule's start, for `seconds`."""

    target: str
    kind: str
    at: float
    seconds: float


@dataclass(frozen=True)
class Applied:
    """What the targets really did: a fault switched on (`on`) or off, at a wall-clock time."""

    target: str
    kind: str
    on: bool
    at: dt.datetime


@dataclass(frozen=True)
class Certificates:
    ca: Path
    valid_cert: Path
    valid_key: Path
    expired_cert: Path
    expired_key: Path


def make_certificates(directory: Path) -> Certificates:
    """A private CA and two certificates for 127.0.0.1 it signed: one valid, one expired."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "FounderOps outage bench CA")])
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key(), now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    paths = Certificates(
        ca=directory / "ca.pem",
        valid_cert=directory / "valid.pem",
        valid_key=directory / "valid.key",
        expired_cert=directory / "expired.pem",
        expired_key=directory / "expired.key",
    )
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    _leaf(ca_key, ca_name, now - dt.timedelta(days=1), now + dt.timedelta(days=30), paths, True)
    _leaf(ca_key, ca_name, now - dt.timedelta(days=60), now - dt.timedelta(days=2), paths, False)
    return paths


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    key: ec.EllipticCurvePublicKey,
    start: dt.datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
    )


def _leaf(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_name: x509.Name,
    start: dt.datetime,
    end: dt.datetime,
    paths: Certificates,
    valid: bool,
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    cert = (
        _builder(subject, ca_name, key.public_key(), start)
        .not_valid_after(end)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = (
        (paths.valid_cert, paths.valid_key) if valid else (paths.expired_cert, paths.expired_key)
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


# --- the child process ---------------------------------------------------------------------


@dataclass
class _Target:
    spec: TargetSpec
    rng: random.Random
    fault: str = ""
    server: asyncio.Server | None = None
    port: int = 0
    # Requests held by `hang`, released (closed) when the fault ends.
    hung: set[asyncio.StreamWriter] = field(default_factory=set)


class _Farm:
    """All targets, their servers and faults, inside the child's event loop."""

    def __init__(self, specs: Sequence[TargetSpec], certs: Certificates) -> None:
        self.targets = {s.name: _Target(s, random.Random(s.name)) for s in specs}
        self.certs = certs
        self.valid = _context(certs.valid_cert, certs.valid_key)
        self.expired = _context(certs.expired_cert, certs.expired_key)
        self.shared: dict[bool, tuple[asyncio.Server, int]] = {}
        self.log: list[Applied] = []

    async def start(self) -> dict[str, int]:
        for target in self.targets.values():
            if target.spec.own_port:
                target.server = await self._listen(0, target)
                target.port = _port_of(target.server)
            else:
                target.port = await self._shared_port(target.spec.tls)
        return {name: t.port for name, t in self.targets.items()}

    async def _shared_port(self, tls: bool) -> int:
        if tls not in self.shared:
            server = await self._listen(0, None, tls)
            self.shared[tls] = (server, _port_of(server))
        return self.shared[tls][1]

    async def _listen(self, port: int, target: _Target | None, tls: bool = False) -> asyncio.Server:
        secure = target.spec.tls if target is not None else tls
        context = self._switching_context(target) if secure else None

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._answer(reader, writer, target)

        return await asyncio.start_server(
            handle, HOST, port, ssl=context, reuse_address=True, backlog=1024
        )

    def _switching_context(self, target: _Target | None) -> ssl.SSLContext:
        """The valid certificate, swapped for the expired one while that fault is on."""
        # The listening context needs a certificate of its own even though `pick` swaps it.
        context = _context(self.certs.valid_cert, self.certs.valid_key)

        def pick(sock: ssl.SSLObject, name: str | None, _: ssl.SSLContext) -> None:
            if target is not None and target.fault == "expired":
                sock.context = self.expired
            else:
                sock.context = self.valid

        context.sni_callback = pick
        return context

    async def _answer(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, target: _Target | None
    ) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=30)
            target = target or self._by_path(head)
            if target is None:
                await _respond(writer, 404, "no such target")
            else:
                await self._serve(reader, writer, target)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        except (ConnectionError, ssl.SSLError):
            # The client gave up (a monitor's timeout) or refused our certificate: expected.
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), timeout=5)

    def _by_path(self, head: bytes) -> _Target | None:
        parts = head.split(b" ", 2)
        path = parts[1].decode("latin-1") if len(parts) > 1 else ""
        name = path.removeprefix("/t/").split("?", 1)[0].strip("/")
        return self.targets.get(name) if path.startswith("/t/") else None

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, target: _Target
    ) -> None:
        if target.fault == "hang":
            target.hung.add(writer)
            try:
                # Until the client gives up, the fault ends, or the hang limit.
                await asyncio.wait_for(reader.read(), timeout=HANG_LIMIT_S)
            finally:
                target.hung.discard(writer)
            return
        factor = SLOWDOWN.get(target.fault, 1.0)
        jitter = target.rng.uniform(1 - JITTER, 1 + JITTER)
        await asyncio.sleep(target.spec.latency_ms * factor * jitter / 1000)
        if target.fault == "error500":
            await _respond(writer, 500, "Internal Server Error")
        elif target.fault == "keyword":
            await _respond(writer, 200, "<h1>Welcome</h1><p>Something went wrong.</p>")
        else:
            await _respond(writer, 200, f"<h1>{target.spec.name}</h1><p>{KEYWORD}</p>")

    async def switch(self, name: str, kind: str) -> Applied:
        """Turn `kind` on for `name` ("" turns the current fault off)."""
        target = self.targets[name]
        previous = target.fault
        if kind and kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of {', '.join(FAULTS)}")
        if kind == "refuse" and not target.spec.own_port:
            raise ValueError(f"target {name} shares its port: it cannot refuse alone")
        target.fault = kind
        if previous == "refuse" and target.server is None:
            target.server = await self._listen(target.port, target)
        if kind == "refuse" and target.server is not None:
            target.server.close()
            target.server = None
        if previous == "hang" or kind == "refuse":
            for writer in list(target.hung):
                writer.transport.abort()
        applied = Applied(name, kind or previous, bool(kind), dt.datetime.now(dt.UTC))
        if kind or previous:
            # Clearing a healthy target changes nothing: nothing to log.
            self.log.append(applied)
        return applied

    def schedule(self, start: float, faults: Sequence[Fault]) -> None:
        """Run `faults` from wall-clock `start` (time.time()); each then switches itself off."""
        loop = asyncio.get_running_loop()
        for fault in faults:
            begin = max(0.0, start + fault.at - time.time())
            loop.call_later(begin, self._spawn, fault.target, fault.kind)
            loop.call_later(begin + fault.seconds, self._spawn, fault.target, "")

    def _spawn(self, name: str, kind: str) -> None:
        asyncio.get_running_loop().create_task(self.switch(name, kind))


def _context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def _port_of(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


async def _respond(writer: asyncio.StreamWriter, status: int, body: str) -> None:
    reason = {200: "OK", 404: "Not Found", 500: "Internal Server Error"}[status]
    data = body.encode()
    # Connection: close, so that every check opens a connection of its own, as a refused
    # or restarted service would force anyway.
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
        + data
    )
    await writer.drain()


def serve(conn: Connection, specs: Sequence[TargetSpec], certs: Certificates) -> None:
    """The child process: serve the targets and obey the pipe until told to stop."""
    asyncio.run(_serve_forever(conn, specs, certs))


async def _serve_forever(
    conn: Connection, specs: Sequence[TargetSpec], certs: Certificates
) -> None:
    farm = _Farm(specs, certs)
    conn.send(("ports", await farm.start()))
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[Any] = asyncio.Queue()
    loop.add_reader(conn.fileno(), lambda: commands.put_nowait(conn.recv()))
    while True:
        command, *args = await commands.get()
        if command == "stop":
            conn.send(("stopped", None))
            return
        conn.send(await _obey(farm, command, args))


async def _obey(farm: _Farm, command: str, args: list[Any]) -> tuple[str, Any]:
    try:
        if command == "switch":
            return ("ok", await farm.switch(args[0], args[1]))
        if command == "schedule":
            farm.schedule(args[0], args[1])
            return ("ok", None)
        if command == "log":
            return ("ok", list(farm.log))
        return ("error", f"unknown command {command!r}")
    except (ValueError, KeyError) as error:
        return ("error", str(error))


# --- the parent's handle -------------------------------------------------------------------


class TargetError(RuntimeError):
    pass


class Targets:
    """The targets' process, seen from the bench: URLs, the CA file, and the fault switch."""

    def __init__(self, conn: Connection, process: Any, ports: dict[str, int], certs: Certificates):
        self._conn = conn
        self._process = process
        self.ports = ports
        self.certs = certs
        self.pid = int(process.pid)

    def url(self, name: str, tls: bool = False) -> str:
        scheme = "https" if tls else "http"
        return f"{scheme}://{HOST}:{self.ports[name]}/t/{name}"

    def address(self, name: str) -> str:
        return f"{HOST}:{self.ports[name]}"

    def inject(self, name: str, kind: str) -> Applied:
        applied: Applied = self._ask("switch", name, kind)
        return applied

    def clear(self, name: str) -> Applied:
        return self.inject(name, "")

    def schedule(self, start: float, faults: Sequence[Fault]) -> None:
        self._ask("schedule", start, list(faults))

    def log(self) -> list[Applied]:
        applied: list[Applied] = self._ask("log")
        return applied

    def _ask(self, *command: Any) -> Any:
        self._conn.send(command)
        if not self._conn.poll(STARTUP_S):
            raise TargetError(f"the targets did not answer {command[0]!r}")
        status, value = self._conn.recv()
        if status != "ok":
            raise TargetError(str(value))
        return value


@contextlib.contextmanager
def running(specs: Sequence[TargetSpec], directory: Path) -> Iterator[Targets]:
    """Start the targets in a spawned process; stop it when the block ends."""
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError("target names must be unique")
    certs = make_certificates(directory)
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=serve, args=(child, list(specs), certs), daemon=True)
    process.start()
    try:
        if not parent.poll(STARTUP_S):
            raise TargetError("the targets did not start")
        _, ports = parent.recv()
        yield Targets(parent, process, ports, certs)
    finally:
        _stop(parent, process)


def _stop(conn: Connection, process: Any) -> None:
    with contextlib.suppress(BrokenPipeError, OSError):
        conn.send(("stop",))
    process.join(timeout=10)
    if process.is_alive():
        process.terminate()
        process.join(timeout=10)
