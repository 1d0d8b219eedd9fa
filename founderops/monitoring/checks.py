"""One async function per kind of check; each returns a ProbeResult, never raises.

A network failure is the answer a check exists to give, so every one becomes a result with
an error a founder can read ("connection refused", "timed out after 10 s", "certificate
expired 3 days ago"). Only a bug escapes, and the engine records that as "check crashed".

The checks share a `Context` for one engine's life: HTTP clients (their CA stores are loaded
once, which costs more than a request) and DNS resolvers. Outbound HTTP goes through
founderops.core.http; the SSRF guard does not apply, since the founder chose these targets
and private hosts are a normal thing to monitor.
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import dns.asyncresolver
import dns.exception
import dns.resolver
import httpx
import psycopg
from cryptography import x509
from django.conf import settings

from founderops.core import clock, http, secrets
from founderops.core.errors import InvalidInput
from founderops.monitoring.models import Monitor
from founderops.monitoring.probes import DEGRADED, DOWN, UP, ProbeResult

T = TypeVar("T")
Check = Callable[[Monitor, "Context", datetime], Awaitable[ProbeResult]]
SyncRunner = Callable[[Callable[[], T]], Awaitable[T]]

DEFAULT_STATUS = "200-399"
DEFAULT_MAX_REDIRECTS = 5
DEFAULT_CERT_DAYS = 14
DEFAULT_RATELIMIT_RATIO = 0.1
DEFAULT_CONNECTIONS_RATIO = 0.9
DEFAULT_REPLICATION_LAG_S = 60.0
DEFAULT_SLOW_QUERIES = 5
RATELIMIT_HEADERS = (
    ("x-ratelimit-remaining", "x-ratelimit-limit"),
    ("ratelimit-remaining", "ratelimit-limit"),
)


class BadOptions(InvalidInput):
    """A monitor's options cannot be used; the message names the option."""


async def _in_thread(work: Callable[[], T]) -> T:
    return await asyncio.to_thread(work)


@dataclass
class Context:
    """What checks share: pooled HTTP clients per TLS setting, DNS resolvers, a DB runner."""

    max_body_bytes: int = field(default_factory=lambda: int(settings.MONITOR_MAX_BODY_BYTES))
    # Heartbeats read the database: the engine passes its database thread here.
    run_sync: SyncRunner[Any] = _in_thread
    _clients: dict[tuple[bool, str], httpx.AsyncClient] = field(default_factory=dict)
    _resolvers: dict[tuple[str, int], dns.asyncresolver.Resolver] = field(default_factory=dict)

    def http(self, verify: bool, ca_file: str = "") -> httpx.AsyncClient:
        key = (verify, ca_file)
        if key not in self._clients:
            tls: bool | ssl.SSLContext = verify
            if verify and ca_file:
                tls = ssl.create_default_context(cafile=ca_file)
            # No keep-alive: each check opens its own connection, so a server that stops
            # accepting connections is seen at once instead of hidden by an open socket.
            self._clients[key] = http.async_client(verify=tls, keepalive=False)
        return self._clients[key]

    def resolver(self, nameserver: str, port: int) -> dns.asyncresolver.Resolver:
        key = (nameserver, port)
        if key not in self._resolvers:
            resolver = dns.asyncresolver.Resolver(configure=not nameserver)
            if nameserver:
                resolver.nameservers = [nameserver]
            resolver.port = port
            self._resolvers[key] = resolver
        return self._resolvers[key]

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


async def run(monitor: Monitor, context: Context, now: datetime | None = None) -> ProbeResult:
    """Run the monitor's check once, within its timeout; every failure is a result."""
    check = CHECKS.get(monitor.kind)
    if check is None:
        return down(f"unknown check kind {monitor.kind!r}", cause="config", hard=False)
    moment = now or clock.now()
    try:
        async with asyncio.timeout(monitor.timeout_s):
            return await check(monitor, context, moment)
    except TimeoutError:
        return down(f"timed out after {seconds(monitor.timeout_s)}")
    except InvalidInput as error:
        return down(str(error), cause="config", hard=False)
    except (OSError, httpx.HTTPError, dns.exception.DNSException, psycopg.Error) as error:
        return down(describe(error, monitor.timeout_s))


def down(error: str, cause: str = "down", hard: bool = True, **extra: Any) -> ProbeResult:
    return ProbeResult(DOWN, error=error, cause=cause, facts={"hard": hard}, **extra)


def seconds(value: float) -> str:
    return f"{value:g} s"


def size(count: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:g} {unit}"
    return f"{count} bytes"


def describe(error: BaseException, timeout_s: float) -> str:
    """The root cause of a network error, said plainly."""
    root = _root(error)
    if isinstance(root, TimeoutError | httpx.TimeoutException | dns.exception.Timeout):
        return f"timed out after {seconds(timeout_s)}"
    if isinstance(root, ssl.SSLCertVerificationError):
        return f"TLS certificate invalid: {root.verify_message or root.reason}"
    if isinstance(root, ssl.SSLError):
        return f"TLS handshake failed: {root.reason or root}"
    if isinstance(root, socket.gaierror):
        return f"cannot resolve host: {root.strerror}"
    if isinstance(root, ConnectionRefusedError):
        return "connection refused"
    if isinstance(root, ConnectionResetError):
        return "connection reset by the server"
    if isinstance(root, httpx.RemoteProtocolError):
        return f"the server broke the HTTP protocol: {root}"
    if isinstance(root, psycopg.Error):
        return str(root).strip().splitlines()[0] if str(root).strip() else type(root).__name__
    if isinstance(root, OSError) and root.strerror:
        return root.strerror[0].lower() + root.strerror[1:]
    return str(root) or type(root).__name__


def _root(error: BaseException) -> BaseException:
    seen: set[int] = set()
    while id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, ssl.SSLError | socket.gaierror | ConnectionError | TimeoutError):
            return error
        nested = error.__cause__ or error.__context__
        if nested is None:
            return error
        error = nested
    return error


# --- options ----------------------------------------------------------------------------


def _opt_int(options: dict[str, Any], name: str, default: int) -> int:
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadOptions(f"option {name} must be a whole number ≥ 0 (got {value!r})")
    return int(value)


def _opt_float(options: dict[str, Any], name: str, default: float | None) -> float | None:
    value = options.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise BadOptions(f"option {name} must be a number ≥ 0 (got {value!r})")
    return float(value)


def _opt_str(options: dict[str, Any], name: str, default: str = "") -> str:
    value = options.get(name, default)
    if not isinstance(value, str):
        raise BadOptions(f"option {name} must be text (got {value!r})")
    return value


def status_ranges(raw: Any) -> list[tuple[int, int]]:
    """`200`, `"200-299"`, or a list of either: the accepted HTTP status codes."""
    items = raw if isinstance(raw, list) else [raw]
    ranges: list[tuple[int, int]] = []
    for item in items:
        text = str(item).strip()
        low, _, high = text.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise BadOptions(f"option expected_status: {item!r} is not a code like 200 or 200-299")
        ranges.append((int(low), int(high or low)))
    return ranges


def host_port(target: str, default_port: int | None) -> tuple[str, int]:
    """`host:port`, `[v6]:port` or an https URL; the port may default."""
    if "://" in target:
        parts = urlsplit(target)
        host, port = parts.hostname or "", parts.port or default_port
    else:
        head, sep, tail = target.rpartition(":")
        if sep and tail.isdigit() and (not head.count(":") or head.startswith("[")):
            host, port = head.strip("[]"), int(tail)
        else:
            host, port = target.strip("[]"), default_port
    if not host or port is None:
        raise BadOptions(f"target must be host:port (got {target!r})")
    return host, port


# --- HTTP -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpOptions:
    method: str
    headers: dict[str, str]
    body: str
    statuses: list[tuple[int, int]]
    keyword: str
    keyword_absent: str
    json_path: str
    json_value: Any
    has_json_value: bool
    max_latency_ms: float | None
    max_redirects: int
    verify: bool
    ca_file: str
    ratelimit_ratio: float
    max_body_bytes: int | None

    @classmethod
    def of(cls, options: dict[str, Any]) -> HttpOptions:
        headers = options.get("headers", {})
        if not isinstance(headers, dict):
            raise BadOptions("option headers must be a mapping of name to value")
        ratio = _opt_float(options, "ratelimit_min_ratio", DEFAULT_RATELIMIT_RATIO)
        body_cap = options.get("max_body_bytes")
        return cls(
            method=_opt_str(options, "method", "GET").upper(),
            headers={str(key): str(value) for key, value in headers.items()},
            body=_opt_str(options, "body"),
            statuses=status_ranges(options.get("expected_status", DEFAULT_STATUS)),
            keyword=_opt_str(options, "keyword"),
            keyword_absent=_opt_str(options, "keyword_absent"),
            json_path=_opt_str(options, "json_path"),
            json_value=options.get("json_value"),
            has_json_value="json_value" in options,
            max_latency_ms=_opt_float(options, "max_latency_ms", None),
            max_redirects=_opt_int(options, "max_redirects", DEFAULT_MAX_REDIRECTS),
            verify=bool(options.get("verify_tls", True)),
            ca_file=_opt_str(options, "ca_file"),
            ratelimit_ratio=ratio or 0.0,
            max_body_bytes=None if body_cap is None else _opt_int(options, "max_body_bytes", 0),
        )

    @property
    def reads_body(self) -> bool:
        return bool(self.keyword or self.keyword_absent or self.json_path)


class BodyTooLarge(Exception):
    pass


async def check_http(monitor: Monitor, context: Context, now: datetime) -> ProbeResult:
    options = HttpOptions.of(monitor.options)
    client = context.http(options.verify, options.ca_file)
    headers = dict(options.headers)
    secret_header = _opt_str(monitor.options, "secret_header")
    if secret_header:
        headers[secret_header] = secrets.reveal(monitor.secret_sealed)
    cap = options.max_body_bytes or context.max_body_bytes
    started = time.perf_counter()
    wire = WireTime()
    url, visited = monitor.target, [monitor.target]
    method, content = options.method, options.body.encode() or None
    for _hop in range(options.max_redirects + 1):
        request = client.build_request(
            method, url, headers=headers, content=content, extensions={"trace": wire}
        )
        response = await client.send(request, stream=True)
        try:
            if response.is_redirect and options.max_redirects:
                url = urljoin(url, response.headers["location"])
                if url in visited:
                    return down(f"redirect loop: {' → '.join([*visited, url])}")
                visited.append(url)
                if response.status_code in (301, 302, 303):
                    method, content = "GET", None
                continue
            try:
                body, truncated = await _read(response, cap, options.reads_body)
            except BodyTooLarge:
                return down(f"response larger than {size(cap)}", hard=False)
        finally:
            await response.aclose()
        latency = wire.ms if wire.hops else (time.perf_counter() - started) * 1000
        return judge_http(response, body, truncated, latency, options, visited)
    return down(f"too many redirects (more than {options.max_redirects}): {' → '.join(visited)}")


class WireTime:
    """An HTTP check's latency as the transport saw it (httpcore's `trace` hook): per hop,
    from the connection attempt (or the request's first byte on a reused connection) to the
    response headers. Time this process spent elsewhere before the request went out, or
    reading, decoding and closing the body afterwards, is not the service's and would let a
    busy engine (a big outage, 1,000 monitors) pass for a slow service. A transport without
    the hook (a test's mock) leaves `hops` at 0 and the check falls back to the wall clock."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.hops = 0
        self._began: float | None = None

    @property
    def ms(self) -> float:
        return self.seconds * 1000

    async def __call__(self, event: str, info: dict[str, Any]) -> None:
        now = time.perf_counter()
        starts = event.endswith("connect_tcp.started") or event.endswith(
            "send_request_headers.started"
        )
        if starts and self._began is None:
            self._began = now
        elif event.endswith("receive_response_headers.complete") and self._began is not None:
            self.seconds += now - self._began
            self.hops += 1
            self._began = None


async def _read(response: httpx.Response, cap: int, needed: bool) -> tuple[bytes, bool]:
    """The body up to `cap` bytes, counted decompressed (a gzip bomb stops at the cap too).
    Past the cap: an error when the check reads the body, else the rest is left unread (a
    big page is not a fault of a status check)."""
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.aiter_bytes():
        total += len(chunk)
        if total > cap:
            if needed:
                raise BodyTooLarge
            return b"".join(chunks), True
        chunks.append(chunk)
    return b"".join(chunks), False


def judge_http(
    response: httpx.Response,
    raw: bytes,
    truncated: bool,
    latency: float,
    options: HttpOptions,
    visited: list[str],
) -> ProbeResult:
    status = response.status_code
    detail: dict[str, Any] = {"status": status, "bytes": len(raw)}
    if len(visited) > 1:
        detail["redirects"] = visited[1:]
    if truncated:
        detail["body_truncated"] = True
    metrics, limited = _ratelimit(response, detail)
    common: dict[str, Any] = {"latency_ms": latency, "detail": detail, "metrics": metrics}
    if status == 429:
        wait = f", retry after {detail['retry_after_s']:g} s" if "retry_after_s" in detail else ""
        return ProbeResult(
            DEGRADED, error=f"rate limited (HTTP 429{wait})", cause="rate_limit", **common
        )
    if not any(low <= status <= high for low, high in options.statuses):
        return ProbeResult(
            DOWN,
            error=f"HTTP {status} {response.reason_phrase}".strip(),
            cause="down",
            facts={"hard": True},
            **common,
        )
    problem = _content_problem(raw, response, options, detail)
    if problem is not None:
        cause, error = problem
        # The page answers but not with what it should (an error page served with 200, a
        # health check saying "degraded"): the feature is broken, as good as down.
        return ProbeResult(DOWN, error=error, cause=cause, facts={"hard": True}, **common)
    if limited is not None and limited < options.ratelimit_ratio:
        error = f"rate-limit headroom {limited:.0%} (below {options.ratelimit_ratio:.0%})"
        return ProbeResult(DEGRADED, error=error, cause="rate_limit", **common)
    if options.max_latency_ms is not None and latency > options.max_latency_ms:
        error = f"{latency:.0f} ms, above the {options.max_latency_ms:g} ms allowed"
        return ProbeResult(DEGRADED, error=error, cause="slow", **common)
    return ProbeResult(UP, **common)


def _content_problem(
    raw: bytes, response: httpx.Response, options: HttpOptions, detail: dict[str, Any]
) -> tuple[str, str] | None:
    if not options.reads_body:
        return None
    text = raw.decode(response.charset_encoding or "utf-8", errors="replace")
    if options.keyword and options.keyword not in text:
        return "keyword", f"keyword {options.keyword!r} not found in the response"
    if options.keyword_absent and options.keyword_absent in text:
        return "keyword", f"keyword {options.keyword_absent!r} found in the response"
    if not options.json_path:
        return None
    try:
        document = json.loads(text)
    except ValueError:
        return "json", "the response is not JSON"
    found, value = json_at(document, options.json_path)
    if not found:
        return "json", f"no value at {options.json_path} in the response"
    detail["json_value"] = value if isinstance(value, str | int | float | bool) else str(value)
    if options.has_json_value and not _same(value, options.json_value):
        return "json", f"{options.json_path} is {value!r}, expected {options.json_value!r}"
    return None


def json_at(document: Any, path: str) -> tuple[bool, Any]:
    """The value at a dotted path (`data.items.0.status`); (False, None) when absent."""
    current = document
    for part in path.split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif (
            isinstance(current, list)
            and part.lstrip("-").isdigit()
            and -len(current) <= int(part) < len(current)
        ):
            current = current[int(part)]
        else:
            return False, None
    return True, current


def _same(value: Any, expected: Any) -> bool:
    # A YAML file may write 200 where the JSON holds "200": compare as text too.
    return bool(value == expected or str(value) == str(expected))


def _ratelimit(
    response: httpx.Response, detail: dict[str, Any]
) -> tuple[dict[str, float], float | None]:
    metrics: dict[str, float] = {}
    ratio: float | None = None
    for remaining_name, limit_name in RATELIMIT_HEADERS:
        remaining = _number(response.headers.get(remaining_name))
        limit = _number(response.headers.get(limit_name))
        if remaining is not None and limit:
            ratio = max(0.0, min(1.0, remaining / limit))
            metrics["ratelimit_remaining_ratio"] = ratio
            detail["ratelimit"] = {"remaining": remaining, "limit": limit}
            break
    retry_after = _number(response.headers.get("retry-after"))
    if retry_after is not None:
        detail["retry_after_s"] = retry_after
    if response.status_code == 429:
        metrics["ratelimit_remaining_ratio"] = 0.0
        ratio = 0.0
    return metrics, ratio


def _number(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw.split(",")[0].split(";")[0].strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


# --- TCP --------------------------------------------------------------------------------


async def check_tcp(monitor: Monitor, context: Context, now: datetime) -> ProbeResult:
    host, port = host_port(monitor.target, None)
    started = time.perf_counter()
    _reader, writer = await asyncio.open_connection(host, port)
    latency = (time.perf_counter() - started) * 1000
    writer.close()
    await writer.wait_closed()
    return ProbeResult(UP, latency_ms=latency, detail={"host": host, "port": port})


# --- TLS certificate --------------------------------------------------------------------


async def check_tls(monitor: Monitor, context: Context, now: datetime) -> ProbeResult:
    host, port = host_port(monitor.target, 443)
    server_name = _opt_str(monitor.options, "server_name", host)
    min_days = _opt_float(monitor.options, "min_days", DEFAULT_CERT_DAYS) or 0.0
    verified = ssl.create_default_context(cafile=_opt_str(monitor.options, "ca_file") or None)
    started = time.perf_counter()
    invalid = ""
    try:
        der = await _peer_certificate(host, port, verified, server_name)
    except ssl.SSLCertVerificationError as error:
        invalid = error.verify_message or str(error.reason)
        der = await _peer_certificate(host, port, _unverified(), server_name)
    latency = (time.perf_counter() - started) * 1000
    return judge_certificate(x509.load_der_x509_certificate(der), invalid, now, min_days, latency)


async def _peer_certificate(host: str, port: int, context: ssl.SSLContext, name: str) -> bytes:
    _reader, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=name)
    try:
        tls = writer.get_extra_info("ssl_object")
        der = tls.getpeercert(binary_form=True) if tls is not None else None
    finally:
        writer.close()
        await writer.wait_closed()
    if not der:
        raise ssl.SSLError("the server sent no certificate")
    return bytes(der)


def _unverified() -> ssl.SSLContext:
    # Only to read an invalid certificate's dates for the report; nothing is sent over it.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def judge_certificate(
    certificate: x509.Certificate, invalid: str, now: datetime, min_days: float, latency: float
) -> ProbeResult:
    expires = certificate.not_valid_after_utc
    days_left = (expires - now).total_seconds() / 86_400
    detail = {
        "subject": certificate.subject.rfc4514_string(),
        "issuer": certificate.issuer.rfc4514_string(),
        "not_after": expires.isoformat(),
        "days_left": round(days_left, 2),
    }
    common: dict[str, Any] = {"latency_ms": latency, "detail": detail, "cause": "tls"}
    common["metrics"] = {"tls_days_left": days_left}
    bad = {"hard": False, "tls_invalid": True}
    if days_left < 0:
        return ProbeResult(
            DOWN, error=f"certificate expired {_span(-days_left)} ago", facts=bad, **common
        )
    if invalid:
        return ProbeResult(DOWN, error=f"certificate invalid: {invalid}", facts=bad, **common)
    if days_left < min_days:
        error = f"certificate expires in {_span(days_left)} ({expires:%Y-%m-%d})"
        return ProbeResult(DEGRADED, error=error, **common)
    return ProbeResult(UP, **common)


def _span(days: float) -> str:
    if days >= 1:
        whole = int(days)
        return f"{whole} day{'s' if whole != 1 else ''}"
    hours = max(1, round(days * 24))
    return f"{hours} hour{'s' if hours != 1 else ''}"


# --- DNS --------------------------------------------------------------------------------


async def check_dns(monitor: Monitor, context: Context, now: datetime) -> ProbeResult:
    name = monitor.target.strip().rstrip(".")
    if not name:
        raise BadOptions("target must be a DNS name")
    record_type = _opt_str(monitor.options, "record_type", "A").upper()
    nameserver = _opt_str(monitor.options, "nameserver")
    server, port = (
        host_port(nameserver, _opt_int(monitor.options, "port", 53)) if nameserver else ("", 53)
    )
    resolver = context.resolver(server, port)
    started = time.perf_counter()
    try:
        answer = await resolver.resolve(name, record_type, lifetime=monitor.timeout_s)
    except dns.resolver.NXDOMAIN:
        return down(f"{name} does not exist (NXDOMAIN)", cause="dns")
    except dns.resolver.NoAnswer:
        return down(f"{name} has no {record_type} record", cause="dns")
    except dns.resolver.NoNameservers:
        return down(f"no name server answered for {name} (SERVFAIL or refused)", cause="dns")
    except dns.exception.Timeout:
        return down(f"DNS timed out after {seconds(monitor.timeout_s)}", cause="dns")
    latency = (time.perf_counter() - started) * 1000
    values = sorted(_normal(record.to_text()) for record in answer)
    return judge_dns(values, monitor.options.get("expected", []), record_type, latency)


def _normal(value: str) -> str:
    return value.strip().rstrip(".").lower()


def judge_dns(values: list[str], expected: Any, record_type: str, latency: float) -> ProbeResult:
    wanted = [expected] if isinstance(expected, str) else expected
    if not isinstance(wanted, list):
        raise BadOptions("option expected must be a value or a list of values")
    missing = sorted({_normal(str(value)) for value in wanted} - set(values))
    detail = {"record_type": record_type, "values": values}
    if missing:
        error = f"{record_type} is {', '.join(values) or 'empty'}; expected {', '.join(missing)}"
        return ProbeResult(
            DOWN, latency_ms=latency, error=error, detail=detail, cause="dns", facts={"hard": False}
        )
    return ProbeResult(UP, latency_ms=latency, detail=detail)


# --- PostgreSQL -------------------------------------------------------------------------

CONNECTIONS_SQL = (
    "SELECT count(*)::int, current_setting('max_connections')::int FROM pg_stat_activity"
)
LAG_SQL = "SELECT COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)::float8"
HAS_STATEMENTS_SQL = (
    "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements')"
)
SLOW_SQL = (
    "SELECT queryid::text, calls, mean_exec_time, left(query, 300) FROM pg_stat_statements "
    "ORDER BY mean_exec_time DESC LIMIT %s"
)


async def check_postgres(monitor: Monitor, context: Context, now: datetime) -> ProbeResult:
    dsn = secrets.reveal(monitor.secret_sealed) or monitor.target
    if not dsn:
        raise BadOptions("no database DSN is stored for this monitor")
    options = monitor.options
    started = time.perf_counter()
    timeout = max(1, math.ceil(monitor.timeout_s))
    async with await psycopg.AsyncConnection.connect(
        dsn, connect_timeout=timeout, autocommit=True
    ) as connection:
        metrics, detail = await _database_health(
            connection, _opt_int(options, "slow_queries", DEFAULT_SLOW_QUERIES)
        )
    latency = (time.perf_counter() - started) * 1000
    return judge_database(metrics, detail, options, latency)


async def _database_health(
    connection: psycopg.AsyncConnection[Any], top: int
) -> tuple[dict[str, float], dict[str, Any]]:
    metrics: dict[str, float] = {}
    detail: dict[str, Any] = {}
    cursor = await connection.execute(CONNECTIONS_SQL)
    used, limit = await cursor.fetchone() or (0, 0)
    metrics["connections"] = float(used)
    metrics["connections_ratio"] = used / limit if limit else 0.0
    detail["max_connections"] = limit
    cursor = await connection.execute("SELECT pg_is_in_recovery()")
    replica = bool((await cursor.fetchone() or (False,))[0])
    detail["replica"] = replica
    if replica:
        cursor = await connection.execute(LAG_SQL)
        metrics["replication_lag_s"] = float((await cursor.fetchone() or (0.0,))[0])
    cursor = await connection.execute(HAS_STATEMENTS_SQL)
    if top and (await cursor.fetchone() or (False,))[0]:
        try:
            cursor = await connection.execute(SLOW_SQL, [top])
            rows = await cursor.fetchall()
        except psycopg.Error as error:
            # Installed but not preloaded (shared_preload_libraries): say so, keep the rest.
            detail["slow_queries_error"] = describe(error, 0)
        else:
            detail["slow_queries"] = [
                {"queryid": row[0], "calls": row[1], "mean_ms": round(row[2], 3), "query": row[3]}
                for row in rows
            ]
            if rows:
                metrics["slowest_query_ms"] = float(rows[0][2])
    return metrics, detail


def judge_database(
    metrics: dict[str, float], detail: dict[str, Any], options: dict[str, Any], latency: float
) -> ProbeResult:
    common: dict[str, Any] = {"latency_ms": latency, "detail": detail, "metrics": metrics}
    problems: list[str] = []
    ratio_limit = _opt_float(options, "max_connections_ratio", DEFAULT_CONNECTIONS_RATIO)
    if ratio_limit is not None and metrics["connections_ratio"] >= ratio_limit:
        problems.append(
            f"{metrics['connections']:.0f} of {detail['max_connections']} connections in use"
        )
    lag_limit = _opt_float(options, "max_replication_lag_s", DEFAULT_REPLICATION_LAG_S)
    lag = metrics.get("replication_lag_s")
    if lag is not None and lag_limit is not None and lag > lag_limit:
        problems.append(f"replication lag {lag:.0f} s (above {lag_limit:g} s)")
    slow_limit = _opt_float(options, "max_mean_query_ms", None)
    slowest = metrics.get("slowest_query_ms")
    if slowest is not None and slow_limit is not None and slowest > slow_limit:
        problems.append(f"slowest query averages {slowest:.0f} ms (above {slow_limit:g} ms)")
    if problems:
        return ProbeResult(DEGRADED, error="; ".join(problems), cause="database", **common)
    return ProbeResult(UP, **common)


# --- heartbeat --------------------------------------------------------------------------


async def check_heartbeat(monitor: Monitor, context: Context, now: datetime) -> ProbeResult:
    # Written by the heartbeat module (imported late: it is optional to this one).
    from founderops.monitoring import heartbeat

    def judge() -> ProbeResult:
        # The engine's copy is older than the last ping, which a web request recorded.
        monitor.refresh_from_db(fields=["last_ping_at"])
        return heartbeat.evaluate(monitor, now)

    result: ProbeResult = await context.run_sync(judge)
    return result


CHECKS: dict[str, Check] = {
    Monitor.Kind.HTTP: check_http,
    Monitor.Kind.TCP: check_tcp,
    Monitor.Kind.TLS: check_tls,
    Monitor.Kind.DNS: check_dns,
    Monitor.Kind.POSTGRES: check_postgres,
    Monitor.Kind.HEARTBEAT: check_heartbeat,
}
