"""The log template miner: masking, grouping, new-template flag, state, error lines, bounds."""

from __future__ import annotations

import pytest

from founderops.monitoring.logparse import MinerSettings, TemplateMiner, is_error, mask


def test_it_masks_ips_and_numbers() -> None:
    masked = mask("Accepted password for root from 10.0.0.7 port 52214 ssh2")

    assert masked == "Accepted password for root from <IP> port <NUM> ssh2"


def test_it_masks_ids_paths_and_durations() -> None:
    masked = mask(
        "req 3f2b8c1e-9a4d-4c2b-8e1f-0a1b2c3d4e5f read /var/lib/app/db.sqlite "
        "block blk_-6952295868487656571 at 0x7ffe12 in 250ms"
    )

    assert masked == "req <UUID> read <PATH> block blk_<NUM> at <HEX> in <DURATION>"


def test_it_gives_variable_lines_one_template() -> None:
    miner = TemplateMiner()

    first = miner.add("User 17 logged in from 192.168.1.4 after 3 attempts")
    second = miner.add("User 9001 logged in from 10.1.2.3 after 1 attempts")

    assert second.template_id == first.template_id
    assert second.template == "User <NUM> logged in from <IP> after <NUM> attempts"


def test_it_flags_a_new_template_once() -> None:
    miner = TemplateMiner()

    flags = [miner.add(f"Payment {n} captured for order {n * 7}").is_new for n in range(4)]

    assert flags == [True, False, False, False]


def test_it_keeps_templates_and_ids_across_a_restore() -> None:
    miner = TemplateMiner()
    seen = miner.add("Cache warmed in 120ms with 5 keys")
    miner.add("Connection to db-1 lost, retrying")

    restored = TemplateMiner.from_bytes(miner.to_bytes())
    again = restored.add("Cache warmed in 95ms with 12 keys")
    other = restored.add("Disk almost full on /var/lib/postgres")

    assert (again.template_id, again.is_new) == (seen.template_id, False)
    assert (other.template_id, other.is_new) == (3, True)


def test_it_refuses_a_damaged_state() -> None:
    with pytest.raises(ValueError, match="damaged"):
        TemplateMiner.from_bytes(b'{"version": 1, "settings": {}}')


@pytest.mark.parametrize(
    "line",
    [
        "2024-05-01 12:00:00 ERROR payment failed",
        "[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6",
        "Traceback (most recent call last):",
        "java.lang.NullPointerException at Foo.bar(Foo.java:12)",
        'ts=1 level=error msg="db down"',
        "FATAL: password authentication failed",
    ],
)
def test_it_detects_error_lines(line: str) -> None:
    assert is_error(line)


@pytest.mark.parametrize(
    "line",
    [
        "INFO instruction cache parity error corrected",
        "Processed 0 errors in 3 batches",
        "WARN disk 81% full",
    ],
)
def test_it_does_not_call_ordinary_lines_errors(line: str) -> None:
    assert not is_error(line)


def test_it_keeps_at_most_max_clusters() -> None:
    miner = TemplateMiner(MinerSettings(max_clusters=3))

    for word in ["alpha", "bravo", "charlie", "delta", "echo"]:
        miner.add(f"{word} {word} {word} started")

    assert sorted(miner.templates().values()) == [
        "charlie charlie charlie started",
        "delta delta delta started",
        "echo echo echo started",
    ]
