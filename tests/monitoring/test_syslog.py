"""`logs syslog`: RFC 5424 and 3164 datagrams over a real UDP socket on 127.0.0.1."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from founderops.monitoring.logs import Ingestor, Limits, LogLine
from founderops.monitoring.logsources import SyslogListener, parse_syslog
from founderops.monitoring.models import LogTemplate

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def listener() -> Iterator[SyslogListener]:
    server = SyslogListener("127.0.0.1", 0, 2000)
    server.start()
    yield server
    server.stop()


def send(server: SyslogListener, *datagrams: bytes) -> list[LogLine]:
    assert server.address is not None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for datagram in datagrams:
            sock.sendto(datagram, server.address)
    received: list[LogLine] = []
    deadline = time.monotonic() + 10
    while len(received) + server.rejected < len(datagrams) and time.monotonic() < deadline:
        received += server.take()
        time.sleep(0.01)
    return received


def test_it_parses_rfc5424() -> None:
    data = b'<11>1 2025-03-04T09:00:00Z web1 billing 4242 ID47 [x@1 a="b"] charge 7 failed'

    line = parse_syslog(data, NOW, 2000)

    assert line == LogLine("billing", "charge 7 failed", NOW, level="err")


def test_it_parses_rfc3164() -> None:
    line = parse_syslog(b"<30>Mar  4 09:00:00 web1 nginx[812]: upstream ok", NOW, 2000)

    assert line == LogLine("nginx", "upstream ok", NOW, level="info")


def test_it_rejects_what_is_not_syslog() -> None:
    assert parse_syslog(b"hello there", NOW, 2000) is None


def test_it_receives_datagrams_over_udp(listener: SyslogListener) -> None:
    received = send(
        listener,
        b"<11>1 2025-03-04T09:00:00Z web1 billing - - - charge 7 failed",
        b"<30>Mar  4 09:00:00 web1 nginx[812]: upstream ok",
        b"not syslog",
    )

    assert sorted(line.service for line in received) == ["billing", "nginx"]
    assert listener.rejected == 1


@pytest.mark.django_db
def test_received_lines_become_templates(listener: SyslogListener) -> None:
    ingestor = Ingestor(Limits())
    received = send(
        listener,
        b"<11>1 2025-03-04T09:00:00Z web1 billing - - - charge 7 failed",
        b"<11>1 2025-03-04T09:00:01Z web1 billing - - - charge 8 failed",
    )

    ingestor.ingest(received)
    ingestor.flush()

    template = LogTemplate.objects.get(service="billing")
    assert (template.template, template.count, template.is_error) == (
        "charge <NUM> failed",
        2,
        True,
    )


def test_it_says_when_the_port_is_taken(listener: SyslogListener) -> None:
    assert listener.address is not None
    second = SyslogListener("127.0.0.1", listener.address[1], 2000)

    with pytest.raises(OSError, match=r"(?i)address"):
        second.start()
