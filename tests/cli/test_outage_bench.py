"""`founderops bench monitoring`: the targets that fail on cue, the plan, and the scoring."""

from __future__ import annotations

import ssl
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from founderops.cli import outage_bench, outage_targets
from founderops.cli.outage_targets import Applied, Fault, Targets, TargetSpec

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SPECS = [
    TargetSpec("own", latency_ms=5, own_port=True),
    TargetSpec("shared", latency_ms=5),
    TargetSpec("secure", latency_ms=5, tls=True, own_port=True),
]


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Targets]:
    with outage_targets.running(SPECS, tmp_path_factory.mktemp("certs")) as running:
        yield running


@pytest.fixture
def healthy(targets: Targets) -> Iterator[Targets]:
    yield targets
    for spec in SPECS:
        targets.clear(spec.name)


def get(targets: Targets, name: str, tls: bool = False, timeout: float = 5) -> httpx.Response:
    verify = ssl.create_default_context(cafile=str(targets.certs.ca))
    return httpx.get(targets.url(name, tls), verify=verify, timeout=timeout)


@pytest.mark.slow
def test_it_answers_with_the_keyword_when_healthy(healthy: Targets) -> None:
    response = get(healthy, "shared")
    assert (response.status_code, outage_targets.KEYWORD in response.text) == (200, True)


@pytest.mark.slow
def test_it_refuses_connections_while_refusing(healthy: Targets) -> None:
    healthy.inject("own", "refuse")
    with pytest.raises(httpx.ConnectError):
        get(healthy, "own")


@pytest.mark.slow
def test_it_listens_again_when_the_refusal_ends(healthy: Targets) -> None:
    healthy.inject("own", "refuse")
    healthy.clear("own")
    assert get(healthy, "own").status_code == 200


@pytest.mark.slow
def test_it_will_not_refuse_a_target_that_shares_its_port(healthy: Targets) -> None:
    with pytest.raises(outage_targets.TargetError, match="shares its port"):
        healthy.inject("shared", "refuse")


@pytest.mark.slow
def test_it_answers_500_during_that_fault(healthy: Targets) -> None:
    healthy.inject("shared", "error500")
    assert get(healthy, "shared").status_code == 500


@pytest.mark.slow
def test_it_drops_the_keyword_during_that_fault(healthy: Targets) -> None:
    healthy.inject("shared", "keyword")
    response = get(healthy, "shared")
    assert (response.status_code, outage_targets.KEYWORD in response.text) == (200, False)


@pytest.mark.slow
def test_it_never_answers_a_hung_request(healthy: Targets) -> None:
    healthy.inject("own", "hang")
    with pytest.raises(httpx.ReadTimeout):
        get(healthy, "own", timeout=0.5)


@pytest.mark.slow
def test_it_serves_a_certificate_the_ca_vouches_for(healthy: Targets) -> None:
    assert get(healthy, "secure", tls=True).status_code == 200


@pytest.mark.slow
def test_it_serves_an_expired_certificate_during_that_fault(healthy: Targets) -> None:
    healthy.inject("secure", "expired")
    with pytest.raises(httpx.ConnectError, match="expired"):
        get(healthy, "secure", tls=True)


@pytest.mark.slow
def test_it_logs_when_a_scheduled_fault_really_began_and_ended(healthy: Targets) -> None:
    earlier = len(healthy.log())
    healthy.schedule(time.time(), [Fault("shared", "error500", at=0.0, seconds=0.2)])
    deadline = time.monotonic() + 10
    logged: list[tuple[str, bool]] = []
    while time.monotonic() < deadline and len(logged) < 2:
        logged = [(a.kind, a.on) for a in healthy.log()[earlier:]]
        time.sleep(0.05)
    assert logged == [("error500", True), ("error500", False)]


def test_it_plans_the_same_faults_for_the_same_seed() -> None:
    assert outage_bench.plan(11, outage_bench.Scenario()) == outage_bench.plan(
        11, outage_bench.Scenario()
    )


def test_it_plans_per_fault_targets_of_every_kind() -> None:
    planned = outage_bench.plan(3, outage_bench.Scenario(per_fault=2))
    assert sorted(f.kind for f in planned.faults) == sorted(outage_targets.FAULTS * 2)


def test_it_keeps_blips_shorter_than_one_check_interval() -> None:
    scenario = outage_bench.Scenario()
    blips = outage_bench.plan(5, scenario).blips
    assert max(b.seconds for b in blips) < scenario.interval_s


def seen(pk: int, target: str, after_s: float, priority: str = "P1") -> outage_bench.Seen:
    at = T0 + timedelta(seconds=after_s)
    return outage_bench.Seen(pk, (target,), at, priority, notifications=1, pages=1)


def scored(incidents: list[outage_bench.Seen]) -> outage_bench.Detection:
    scenario = outage_bench.Scenario(per_fault=1, kinds=("refuse", "slow30"), blip_targets=1)
    planned = outage_bench.plan(1, scenario)
    applied = [
        Applied("refuse-0", "refuse", True, T0),
        Applied("refuse-0", "refuse", False, T0 + timedelta(seconds=75)),
        Applied("slow30-0", "slow30", True, T0),
        Applied("slow30-0", "slow30", False, T0 + timedelta(seconds=75)),
    ]
    return outage_bench.score(planned, applied, incidents, scenario)


def test_it_measures_time_to_detect_from_when_the_fault_really_began() -> None:
    assert scored([seen(1, "refuse-0", 23.5)]).ttd_s["refuse"] == [23.5]


def test_it_counts_an_incident_on_a_blipping_target_as_a_false_page() -> None:
    assert [i.pk for i in scored([seen(1, "blip-0", 30)]).false_pages] == [1]


def test_it_counts_a_second_incident_for_one_fault_as_a_false_page() -> None:
    found = scored([seen(1, "refuse-0", 20), seen(2, "refuse-0", 50)])
    assert [i.pk for i in found.false_pages] == [2]


def test_it_counts_an_incident_before_the_fault_as_a_false_page() -> None:
    assert len(scored([seen(1, "refuse-0", -5)]).false_pages) == 1


def test_it_counts_a_fault_no_incident_explained_as_missed() -> None:
    assert scored([seen(1, "refuse-0", 20)]).missed == {"slow30": 1}


def test_it_expects_a_p2_for_a_30_percent_slowdown() -> None:
    found = scored([seen(1, "slow30-0", 40, "P1"), seen(2, "refuse-0", 20, "P1")])
    assert (found.detected, found.right_priority) == (2, 1)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_it_opens_one_incident_for_a_refused_target_and_none_for_a_blip(settings: Any) -> None:
    # Inline jobs: a `founderops worker` process would not see the test database.
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "sync": True}
    planned = outage_bench.plan(1, outage_bench.QUICK)
    detection, _hours = outage_bench.detect(planned)
    assert Counter(t for i in detection.incidents for t in i.targets) == {"refuse-0": 1}


def test_it_reports_no_steady_cpu_for_a_run_too_short_to_have_one() -> None:
    steady = outage_bench._Steady(start_after=22.0, stop_before=5.0)
    steady.marks = [(1.0, 0.0), (1.5, 1.0)]
    assert steady.percent() is None


def test_it_measures_steady_cpu_between_its_two_marks() -> None:
    steady = outage_bench._Steady(start_after=22.0, stop_before=119.0)
    steady.marks = [(10.0, 100.0), (17.0, 200.0)]
    assert steady.percent() == 7.0
