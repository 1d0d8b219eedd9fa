"""TCP, TLS-certificate and DNS checks against real servers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from founderops.monitoring.models import Monitor
from tests.monitoring.local_servers import (
    Pki,
    closed_port,
    dns_server,
    http_server,
    listening,
    make_pki,
    probe,
    tls_server,
)


def monitor(kind: str, target: str, timeout_s: float = 3.0, **options: Any) -> Monitor:
    return Monitor(name="m", kind=kind, target=target, options=options, timeout_s=timeout_s)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(Path(tmp_path_factory.mktemp("pki")))


# --- TCP --------------------------------------------------------------------------------


def test_it_connects_to_an_open_port() -> None:
    with listening() as port:
        result = probe(monitor(Monitor.Kind.TCP, f"127.0.0.1:{port}"))
    assert result.outcome == "up"
    assert result.latency_ms is not None


def test_it_says_connection_refused_for_a_closed_tcp_port() -> None:
    result = probe(monitor(Monitor.Kind.TCP, f"127.0.0.1:{closed_port()}"))
    assert (result.outcome, result.error) == ("down", "connection refused")
    assert result.facts["hard"] is True


def test_it_refuses_a_tcp_target_without_a_port() -> None:
    result = probe(monitor(Monitor.Kind.TCP, "127.0.0.1"))
    assert (result.cause, result.error) == ("config", "target must be host:port (got '127.0.0.1')")


# --- TLS --------------------------------------------------------------------------------


def tls(pki: Pki, port: int, **options: Any) -> Monitor:
    return monitor(Monitor.Kind.TLS, f"127.0.0.1:{port}", ca_file=pki.ca_file, **options)


def test_it_accepts_a_valid_certificate_and_counts_its_days(pki: Pki) -> None:
    with tls_server(*pki.leaf("valid")) as port:
        result = probe(tls(pki, port))
    assert result.outcome == "up"
    assert 89 < result.metrics["tls_days_left"] <= 90


def test_it_says_how_long_ago_a_certificate_expired(pki: Pki) -> None:
    with tls_server(*pki.leaf("expired")) as port:
        result = probe(tls(pki, port))
    assert (result.outcome, result.error) == ("down", "certificate expired 3 days ago")
    assert result.facts == {"hard": False, "tls_invalid": True}
    assert result.cause == "tls"


def test_it_degrades_a_certificate_that_expires_soon(pki: Pki) -> None:
    with tls_server(*pki.leaf("soon")) as port:
        result = probe(tls(pki, port, min_days=14))
    assert result.outcome == "degraded"
    assert result.error.startswith("certificate expires in 5 days")


def test_it_is_down_for_a_certificate_of_another_host(pki: Pki) -> None:
    with tls_server(*pki.leaf("wrong-host")) as port:
        result = probe(tls(pki, port))
    assert result.outcome == "down"
    assert result.error.startswith("certificate invalid: ")
    assert "IP address mismatch" in result.error
    assert result.facts["tls_invalid"] is True


def test_it_is_down_for_a_certificate_no_trusted_ca_signed(pki: Pki) -> None:
    with tls_server(*pki.leaf("valid")) as port:
        result = probe(monitor(Monitor.Kind.TLS, f"127.0.0.1:{port}"))
    assert result.error.startswith("certificate invalid: ")
    assert "unable to get local issuer certificate" in result.error


def test_it_refuses_an_expired_certificate_over_https(pki: Pki) -> None:
    with tls_server(*pki.leaf("expired"), http=True) as port:
        url = f"https://127.0.0.1:{port}/"
        result = probe(monitor(Monitor.Kind.HTTP, url, ca_file=pki.ca_file))
    assert result.outcome == "down"
    assert result.error == "TLS certificate invalid: certificate has expired"


def test_it_fetches_https_with_a_private_ca(pki: Pki) -> None:
    with tls_server(*pki.leaf("valid"), http=True) as port:
        url = f"https://127.0.0.1:{port}/"
        assert probe(monitor(Monitor.Kind.HTTP, url, ca_file=pki.ca_file)).outcome == "up"


def test_it_skips_verification_only_when_told(pki: Pki) -> None:
    with tls_server(*pki.leaf("expired"), http=True) as port:
        url = f"https://127.0.0.1:{port}/"
        assert probe(monitor(Monitor.Kind.HTTP, url, verify_tls=False)).outcome == "up"


def test_it_reports_a_tls_handshake_with_a_plain_server() -> None:
    with http_server() as server:
        port = server.server.server_address[1]
        result = probe(monitor(Monitor.Kind.TLS, f"127.0.0.1:{port}", timeout_s=2))
    assert result.outcome == "down"
    assert result.error.startswith("TLS handshake failed")


# --- DNS --------------------------------------------------------------------------------

RECORDS = {
    ("example.test", "A"): ["192.0.2.10", "192.0.2.11"],
    ("example.test", "MX"): ["10 mail.example.test."],
    ("alias.example.test", "CNAME"): ["example.test."],
}


@pytest.fixture(scope="module")
def nameserver() -> Iterator[str]:
    with dns_server(RECORDS, silent=frozenset({"slow.example.test"})) as port:
        yield f"127.0.0.1:{port}"


def dns(name: str, nameserver: str, timeout_s: float = 2.0, **options: Any) -> Monitor:
    return monitor(Monitor.Kind.DNS, name, timeout_s=timeout_s, nameserver=nameserver, **options)


def test_it_resolves_the_expected_addresses(nameserver: str) -> None:
    result = probe(dns("example.test", nameserver, expected=["192.0.2.11"]))
    assert result.outcome == "up"
    assert result.detail["values"] == ["192.0.2.10", "192.0.2.11"]


def test_it_compares_names_without_the_trailing_dot(nameserver: str) -> None:
    result = probe(
        dns("alias.example.test", nameserver, record_type="CNAME", expected="Example.test")
    )
    assert result.outcome == "up"


def test_it_is_down_when_a_record_changed(nameserver: str) -> None:
    result = probe(dns("example.test", nameserver, record_type="MX", expected="10 mx.other.test"))
    assert result.outcome == "down"
    assert result.error == "MX is 10 mail.example.test; expected 10 mx.other.test"


def test_it_says_nxdomain_for_a_name_that_does_not_exist(nameserver: str) -> None:
    result = probe(dns("nothing.example.test", nameserver))
    assert (result.outcome, result.cause) == ("down", "dns")
    assert result.error == "nothing.example.test does not exist (NXDOMAIN)"


def test_it_says_there_is_no_record_of_that_type(nameserver: str) -> None:
    result = probe(dns("example.test", nameserver, record_type="AAAA"))
    assert result.error == "example.test has no AAAA record"


def test_it_times_out_when_the_name_server_is_silent(nameserver: str) -> None:
    result = probe(dns("slow.example.test", nameserver, timeout_s=0.3))
    assert result.outcome == "down"
    assert result.error in {"DNS timed out after 0.3 s", "timed out after 0.3 s"}
