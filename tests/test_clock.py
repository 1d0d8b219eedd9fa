from __future__ import annotations

from datetime import UTC, datetime

import pytest

from founderops.core import clock

MOMENT = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def test_it_replays_a_past_moment_with_the_clock_still_ticking() -> None:
    with clock.replaying(MOMENT):
        inside = clock.now()
    assert MOMENT <= inside < datetime(2026, 1, 1, 9, 1, tzinfo=UTC)


def test_it_returns_to_the_real_time_after_a_replay() -> None:
    with clock.replaying(MOMENT):
        pass
    assert clock.now() > datetime(2026, 6, 1, tzinfo=UTC)


def test_it_refuses_a_naive_replay_moment() -> None:
    with pytest.raises(ValueError, match="aware"), clock.replaying(datetime(2026, 1, 1)):
        pass
