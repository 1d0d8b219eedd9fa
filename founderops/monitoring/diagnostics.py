"""What the Monitoring Agent looks at when an incident opens, gathered into one JSON document.

Around the incident's start: deploys of its components in the two hours before, error-log
templates that are new or spiking, the affected monitors' recent check history, DNS and TLS
facts for their hosts, and the metric series the anomaly detector scores highest. Network
facts go through `Probes` (time-boxed; tests pass fakes or point them at 127.0.0.1), and a
probe that fails is recorded as a fact ("does not resolve"), never as a crash.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import median
from typing import Any
from urllib.parse import urlsplit

import dns.exception
import dns.resolver
from cryptography import x509
from django.db.models import Q, Sum

from founderops.core import clock
from founderops.incidents.models import Incident
from founderops.monitoring.models import (
    CheckResult,
    Deploy,
    LogCount,
    LogTemplate,
    MetricSeries,
    Monitor,
)

DEPLOYS_BEFORE = timedelta(hours=2)
# A template first seen this close to the start is "new around the start".
NEW_ERROR_WINDOW = (timedelta(minutes=15), timedelta(minutes=5))
SPIKE_RECENT = timedelta(minutes=10)
SPIKE_BASELINE = timedelta(minutes=60)
SPIKE_RATIO = 3.0
SPIKE_MIN_LINES = 5
CHECKS_BEFORE = timedelta(minutes=30)
CHECK_ROWS = 40
MAX_HOSTS = 3
DNS_SECONDS = 2.0
TLS_SECONDS = 3.0
# All host look-ups together get this long.
PROBE_DEADLINE = 5.0
TOP = 10


class ProbeFailed(Exception):
    """A DNS or TLS look-up that found a problem; the message is the fact recorded."""


def resolve(host: str) -> list[str]:
    """The host's A and AAAA addresses (ProbeFailed says why there are none)."""
    resolver = dns.resolver.Resolver()
    found: list[str] = []
    errors: list[str] = []
    for record_type in ("A", "AAAA"):
        try:
            answer = resolver.resolve(host, record_type, lifetime=DNS_SECONDS)
        except dns.resolver.NXDOMAIN:
            raise ProbeFailed(f"{host} does not exist (NXDOMAIN)") from None
        except dns.resolver.NoAnswer:
            continue
        except dns.resolver.NoNameservers:
            errors.append("no name server answered (SERVFAIL or refused)")
        except dns.exception.Timeout:
            errors.append(f"timed out after {DNS_SECONDS:.0f} s")
        except dns.exception.DNSException as error:
            # A name that is not a name, no resolver configured …: a fact to report.
            raise ProbeFailed(f"{host}: {error}") from None
        else:
            found += [record.to_text() for record in answer]
    if not found:
        raise ProbeFailed(errors[0] if errors else f"{host} has no A or AAAA record")
    return sorted(found)


def certificate(host: str, port: int) -> dict[str, Any]:
    """The certificate the host serves: validity, expiry and issuer (ProbeFailed: none read)."""
    invalid = ""
    try:
        der = _peer_der(host, port, ssl.create_default_context())
    except ssl.SSLCertVerificationError as error:
        invalid = error.verify_message or str(error)
        der = _peer_der(host, port, _unverified())
    cert = x509.load_der_x509_certificate(der)
    expires = cert.not_valid_after_utc
    return {
        "valid": not invalid,
        "error": invalid,
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "not_after": expires.isoformat(),
        "days_left": round((expires - clock.now()).total_seconds() / 86_400, 2),
    }


def _peer_der(host: str, port: int, context: ssl.SSLContext) -> bytes:
    try:
        with (
            socket.create_connection((host, port), timeout=TLS_SECONDS) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except ssl.SSLCertVerificationError:
        raise
    except (OSError, ssl.SSLError) as error:
        raise ProbeFailed(f"TLS handshake with {host}:{port} failed: {error}") from None
    if not der:
        raise ProbeFailed(f"{host}:{port} sent no certificate")
    return der


def _unverified() -> ssl.SSLContext:
    # Only to read an invalid certificate's dates after verification already failed.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


@dataclass(frozen=True)
class Probes:
    """The network look-ups, replaceable in tests."""

    resolve: Callable[[str], list[str]] = resolve
    certificate: Callable[[str, int], dict[str, Any]] = certificate


@dataclass
class Gathered:
    document: dict[str, Any] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)


def gather(incident: Incident, probes: Probes | None = None) -> Gathered:
    """Everything the agent reads about the incident, and one line per finding."""
    probes = probes or Probes()
    start = incident.started_at
    monitors = affected_monitors(incident)
    document: dict[str, Any] = {
        "gathered_at": clock.now().isoformat(),
        "started_at": start.isoformat(),
        "monitors": [m.name for m in monitors],
        "deploys": recent_deploys(incident),
        "logs": error_logs(start),
        "checks": [check_history(m, start) for m in monitors],
        "hosts": host_facts(monitors, probes),
        "anomalies": anomalies(incident, monitors),
    }
    return Gathered(document, summarize(document))


def affected_monitors(incident: Incident) -> list[Monitor]:
    names = {str(a.facts.get("monitor")) for a in incident.alerts.all() if a.facts.get("monitor")}
    components = list(incident.components.values_list("pk", flat=True))
    rows = Monitor.objects.filter(Q(name__in=names) | Q(component__in=components))
    return list(rows.order_by("name")[:TOP])


def recent_deploys(incident: Incident) -> list[dict[str, Any]]:
    start = incident.started_at
    deploys = Deploy.objects.filter(at__gte=start - DEPLOYS_BEFORE, at__lte=start).select_related(
        "hook"
    )
    components = list(incident.components.values_list("pk", flat=True))
    if components:
        # A deploy of another component is not this incident's suspect; an unattached hook is.
        deploys = deploys.filter(Q(hook__component__in=components) | Q(hook__component=None))
    return [
        {
            "at": d.at.isoformat(),
            "minutes_before": round((start - d.at).total_seconds() / 60, 1),
            "state": d.state,
            "commit": d.commit,
            "message": d.message[:200],
            "environment": d.environment,
            "hook": d.hook.name,
            "id": d.external_id,
        }
        for d in deploys.order_by("-at")[:TOP]
    ]


def error_logs(start: datetime) -> dict[str, list[dict[str, Any]]]:
    before, after = NEW_ERROR_WINDOW
    new = LogTemplate.objects.filter(
        is_error=True, first_seen_at__gte=start - before, first_seen_at__lte=start + after
    ).order_by("first_seen_at")[:TOP]
    recent = _lines(start - SPIKE_RECENT, start + timedelta(minutes=5))
    baseline = _lines(start - SPIKE_RECENT - SPIKE_BASELINE, start - SPIKE_RECENT)
    recent_minutes = (SPIKE_RECENT + timedelta(minutes=5)).total_seconds() / 60
    baseline_minutes = SPIKE_BASELINE.total_seconds() / 60
    spikes = []
    for template_id, lines in recent.items():
        rate = lines / recent_minutes
        normal = baseline.get(template_id, 0) / baseline_minutes
        ratio = rate / max(normal, 0.1)
        if lines >= SPIKE_MIN_LINES and ratio >= SPIKE_RATIO:
            spikes.append((ratio, template_id, rate, normal))
    spikes.sort(reverse=True)
    templates = LogTemplate.objects.in_bulk([s[1] for s in spikes[:TOP]])
    return {
        "new": [
            {
                "service": t.service,
                "template": t.template[:300],
                "first_seen_at": t.first_seen_at.isoformat(),
                "minutes_from_start": round((t.first_seen_at - start).total_seconds() / 60, 1),
                "count": t.count,
            }
            for t in new
        ],
        "spiking": [
            {
                "service": templates[pk].service,
                "template": templates[pk].template[:300],
                "per_minute": round(rate, 2),
                "normal_per_minute": round(normal, 2),
                "ratio": round(ratio, 1),
            }
            for ratio, pk, rate, normal in spikes[:TOP]
            if pk in templates
        ],
    }


def _lines(since: datetime, until: datetime) -> dict[int, int]:
    rows = (
        LogCount.objects.filter(template__is_error=True, minute__gte=since, minute__lt=until)
        .values("template")
        .annotate(lines=Sum("count"))
    )
    return {row["template"]: int(row["lines"] or 0) for row in rows}


def check_history(monitor: Monitor, start: datetime) -> dict[str, Any]:
    rows = list(
        CheckResult.objects.filter(monitor=monitor, at__gte=start - CHECKS_BEFORE).order_by("-at")[
            :CHECK_ROWS
        ]
    )
    rows.reverse()
    failing = [r for r in rows if r.outcome != CheckResult.Outcome.UP]
    before = [r.latency_ms for r in rows if r.at < start and r.latency_ms is not None]
    during = [r.latency_ms for r in rows if r.at >= start and r.latency_ms is not None]
    last_ok = [r for r in rows if r.at < start and r.outcome == CheckResult.Outcome.UP]
    errors: dict[str, int] = {}
    for row in failing:
        if row.error:
            errors[row.error] = errors.get(row.error, 0) + 1
    return {
        "monitor": monitor.name,
        "kind": monitor.kind,
        "target": _shown_target(monitor),
        "state": monitor.state,
        "results": len(rows),
        "failures": len(failing),
        "first_failure_at": failing[0].at.isoformat() if failing else None,
        "last_success_before": last_ok[-1].at.isoformat() if last_ok else None,
        "errors": sorted(errors.items(), key=lambda item: -item[1])[:3],
        "latency_ms_before": round(median(before), 1) if before else None,
        "latency_ms_during": round(median(during), 1) if during else None,
    }


def _shown_target(monitor: Monitor) -> str:
    # No credentials in what is stored: user:password@ is dropped from URLs.
    if "://" in monitor.target:
        parts = urlsplit(monitor.target)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path}"
    return monitor.target


def _host_of(monitor: Monitor) -> tuple[str, int | None] | None:
    """The host to look up, with the port to read a certificate from (None: no TLS)."""
    target = monitor.target.strip()
    if monitor.kind == Monitor.Kind.HTTP and "://" in target:
        parts = urlsplit(target)
        if not parts.hostname:
            return None
        return parts.hostname, (parts.port or 443) if parts.scheme == "https" else None
    if monitor.kind in (Monitor.Kind.TCP, Monitor.Kind.TLS) and target:
        host, _, port = target.rpartition(":")
        if not host or not port.isdigit():
            return (target, 443) if monitor.kind == Monitor.Kind.TLS else None
        return host.strip("[]"), int(port) if monitor.kind == Monitor.Kind.TLS else None
    if monitor.kind == Monitor.Kind.DNS and target:
        return target.rstrip("."), None
    return None


def host_facts(monitors: list[Monitor], probes: Probes) -> list[dict[str, Any]]:
    """DNS and TLS facts for up to MAX_HOSTS hosts, looked up at once and cut at the deadline:
    the founder's page waits for these, so a silent name server may not hold it up."""
    hosts: dict[str, int | None] = {}
    for monitor in monitors:
        found = _host_of(monitor)
        if found is not None:
            host, port = found
            hosts[host] = hosts.get(host) or port
    chosen = list(hosts.items())[:MAX_HOSTS]
    pool = ThreadPoolExecutor(max_workers=max(1, 2 * len(chosen)))
    try:
        pending = {(host, "dns"): pool.submit(_dns, host, probes) for host, _ in chosen} | {
            (host, "tls"): pool.submit(_tls, host, port, probes)
            for host, port in chosen
            if port is not None
        }
        wait(pending.values(), timeout=PROBE_DEADLINE)
    finally:
        # Late look-ups end on their own timeouts; nobody waits for them.
        pool.shutdown(wait=False, cancel_futures=True)
    late = {"ok": False, "error": f"no answer within {PROBE_DEADLINE:g} s"}
    facts = []
    for host, port in chosen:
        entry: dict[str, Any] = {"host": host}
        for kind in ("dns", "tls") if port is not None else ("dns",):
            future = pending[(host, kind)]
            entry[kind] = future.result() if future.done() else late
        facts.append(entry)
    return facts


def _dns(host: str, probes: Probes) -> dict[str, Any]:
    if host == "localhost" or host.endswith(".localhost"):
        return {"ok": True, "addresses": ["127.0.0.1"], "note": "this machine: no DNS involved"}
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return {"ok": True, "addresses": [host], "note": "an address: no DNS involved"}
    try:
        return {"ok": True, "addresses": probes.resolve(host)}
    except ProbeFailed as failed:
        return {"ok": False, "error": str(failed)}


def _tls(host: str, port: int, probes: Probes) -> dict[str, Any]:
    try:
        return {"ok": True, **probes.certificate(host, port)}
    except ProbeFailed as failed:
        return {"ok": False, "error": str(failed)}


def anomalies(incident: Incident, monitors: list[Monitor]) -> list[dict[str, Any]]:
    components = list(incident.components.values_list("pk", flat=True))
    series = MetricSeries.objects.filter(
        Q(monitor__in=monitors) | Q(component__in=components), last_score__isnull=False
    ).order_by("-last_score")[:5]
    return [
        {
            "series": s.name,
            "score": round(float(s.last_score or 0), 3),
            "value": s.last_value,
            "unit": s.unit,
        }
        for s in series
    ]


def summarize(document: dict[str, Any]) -> list[str]:
    """One line per finding, for the timeline."""
    lines = []
    for deploy in document["deploys"]:
        lines.append(
            f"Deploy {deploy['commit'] or deploy['id']} ({deploy['state']}) "
            f"{deploy['minutes_before']:.0f} min before the start"
        )
    for template in document["logs"]["new"]:
        lines.append(f"New error in {template['service']}: {template['template'][:120]}")
    for template in document["logs"]["spiking"]:
        lines.append(
            f"Error spike x{template['ratio']} in {template['service']}: "
            f"{template['template'][:120]}"
        )
    for check in document["checks"]:
        if check["failures"]:
            top = check["errors"][0][0] if check["errors"] else "failing"
            lines.append(f"{check['monitor']}: {check['failures']} failed checks ({top})")
    for host in document["hosts"]:
        if not host["dns"].get("ok"):
            lines.append(f"DNS for {host['host']}: {host['dns'].get('error')}")
        tls = host.get("tls")
        if tls and not tls.get("ok"):
            lines.append(f"TLS for {host['host']}: {tls.get('error')}")
        elif tls and not tls.get("valid", True):
            lines.append(f"TLS for {host['host']}: invalid certificate ({tls.get('error')})")
        elif tls and float(tls.get("days_left", 99)) < 7:
            lines.append(f"TLS for {host['host']}: certificate expires in {tls['days_left']} days")
    for series in document["anomalies"]:
        if series["score"] >= 0.5:
            lines.append(f"Anomalous metric {series['series']} (score {series['score']})")
    return lines or ["Nothing unusual found in deploys, logs, checks, DNS, TLS or metrics"]
