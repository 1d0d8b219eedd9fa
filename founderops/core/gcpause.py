"""Pausing Python's cyclic garbage collector while a large object graph is built.

Reading a long billing history makes about a million small objects that all stay alive (the
ledger's invoices and lines). Each generation-2 collection walks every one of them again, and
the collector runs often while so many are made: measured, half of `ledger_from_db`'s time.
Reference counting still frees everything that is not in a cycle while paused; cycles wait
for the next collection after the pause.

The collector is one switch for the whole process, and web threads may build at the same time:
a counter keeps it off until the last of them is done, and it is turned back on only if it was
on when the first began (a process that turned it off itself keeps it off).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_state = {"depth": 0, "was_enabled": False}


@contextmanager
def paused() -> Iterator[None]:
    _enter()
    try:
        yield
    finally:
        _leave()


def _enter() -> None:
    with _lock:
        if _state["depth"] == 0:
            _state["was_enabled"] = gc.isenabled()
            gc.disable()
        _state["depth"] += 1


def _leave() -> None:
    with _lock:
        _state["depth"] -= 1
        if _state["depth"] == 0 and _state["was_enabled"]:
            gc.enable()
