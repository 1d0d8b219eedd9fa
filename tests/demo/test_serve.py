"""`founderops demo` checks that it can listen before it spends time loading the workspace."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from founderops.cli import demo


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def test_it_fails_fast_with_a_hint_when_the_port_is_in_use(
    busy_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[str] = []
    monkeypatch.setattr(demo, "load", lambda *a, **k: loads.append("load"))
    out = StringIO()
    with pytest.raises(CommandError, match=f"cannot listen on 127.0.0.1:{busy_port}") as refused:
        call_command("demo", "--port", str(busy_port), stdout=out)
    assert "founderops demo --port" in str(refused.value)
    assert loads == []
    assert "Open" not in out.getvalue()
