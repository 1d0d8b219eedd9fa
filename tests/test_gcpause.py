"""`core.gcpause.paused`: the collector is off inside, back as it was after, even nested and
across threads."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from founderops.core import gcpause


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_it_turns_the_collector_off_inside() -> None:
    with gcpause.paused():
        assert not gc.isenabled()


def test_it_turns_the_collector_back_on_after() -> None:
    with gcpause.paused():
        pass
    assert gc.isenabled()


def test_it_turns_the_collector_back_on_after_an_error() -> None:
    with pytest.raises(ZeroDivisionError), gcpause.paused():
        _ = 1 / 0
    assert gc.isenabled()


def test_it_keeps_the_collector_off_until_the_outer_pause_ends() -> None:
    with gcpause.paused():
        with gcpause.paused():
            pass
        assert not gc.isenabled()


def test_it_leaves_a_collector_the_process_turned_off_off() -> None:
    gc.disable()
    with gcpause.paused():
        pass
    assert not gc.isenabled()


def test_it_keeps_the_collector_off_while_another_thread_still_builds() -> None:
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with gcpause.paused():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    thread.start()
    inside.wait(5)
    with gcpause.paused():
        pass
    still_off = not gc.isenabled()
    release.set()
    thread.join()
    assert (still_off, gc.isenabled()) == (True, True)
