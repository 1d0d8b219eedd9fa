"""The demo's operations side: Inkwell's components, monitors and runbook, and its history.

The monitors come from a monitors.yaml (config as code, as a founder would keep it). The past
is replayed through the real pipeline at its own times: each check runs against Inkwell (the
pretend product, reached through the HTTP seam's injectable transport), its result goes
through the state machine, incidents open and correlate, the Monitoring Agent diagnoses and
runs the runbook, the founder is paged, the status page is updated, and once the service has
been healthy long enough the incident resolves and its post-mortem is drafted. Nothing in it
is written by hand, so the demo shows what the product does, not what we hoped it would.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User

from founderops.ai import policy
from founderops.ai.models import Approval
from founderops.cli import inkwell
from founderops.core import audit, clock, http, jobs
from founderops.core.models import AuditEvent
from founderops.incidents import tasks as incident_tasks
from founderops.incidents.models import Component, Incident, Runbook, RunbookRun, StatusUpdate
from founderops.incidents.services import acknowledge
from founderops.monitoring import checks, config, deploys, services
from founderops.monitoring.models import DeployHook, Monitor
from founderops.monitoring.probes import ProbeResult

DATA_DIR = Path(__file__).resolve().parent / "demo_data"
HOOK = "inkwell"
SOURCE = "demo monitors.yaml"
AGENT = "monitoring"
# The demo lets the agent act alone on Inkwell, so its whole response can be seen.
AUTO_ACTIONS = ("runbook_http", "status_update")
TICK = timedelta(seconds=10)
TOLD = "demo.story_told"


@dataclass(frozen=True)
class Story:
    """One past incident: how long ago, what broke, for how long."""

    name: str
    days_ago: float
    monitor: str
    breaks: Callable[[inkwell.Platform], None]
    heals: Callable[[inkwell.Platform], None]
    minutes: float
    deploy: bool = False
    acknowledge_after: timedelta | None = None


def _bad_release(platform: inkwell.Platform) -> None:
    platform.ship(inkwell.BAD_RELEASE, broken=True)


def _slow_editor(platform: inkwell.Platform) -> None:
    platform.slow_factor = 1.35


def _normal_editor(platform: inkwell.Platform) -> None:
    platform.slow_factor = 1.0


def _website_down(platform: inkwell.Platform) -> None:
    platform.website_down = True


def _website_up(platform: inkwell.Platform) -> None:
    platform.website_down = False


STORIES = (
    Story("website-503", 46.3, "website", _website_down, _website_up, 6),
    Story(
        "editor-slow",
        19.6,
        "editor",
        _slow_editor,
        _normal_editor,
        12,
        acknowledge_after=timedelta(minutes=9),
    ),
    # Healed by the runbook's rollback, not by the story: `heals` is a no-op.
    Story("bad-release", 0.85, "api-health", _bad_release, lambda p: None, 30, deploy=True),
)


def site_url(sim_port: int) -> str:
    return f"http://127.0.0.1:{sim_port}"


def monitors_yaml(sim_port: int, web_port: int) -> str:
    template = (DATA_DIR / "monitors.yaml").read_text()
    return template.replace("{site}", site_url(sim_port)).replace("{web}", str(web_port))


def deploy_secret() -> str:
    """The demo's deploy-hook secret, kept in the data dir (like the demo password)."""
    path = Path(settings.DATA_DIR) / "demo_deploy_secret"
    if not path.exists():
        path.write_text(os.urandom(24).hex())
        path.chmod(0o600)
    return path.read_text().strip()


def apply_config(sim_port: int, web_port: int) -> config.Plan:
    """Apply the demo's monitors.yaml, only when it would change something (a second load
    writes nothing, not even an audit event)."""
    parsed = config.parse(monitors_yaml(sim_port, web_port), source=SOURCE)
    planned = config.plan(parsed, {})
    return planned if planned.empty else config.apply(parsed, {}, actor="cli:demo")


def ensure_hook() -> None:
    if not DeployHook.objects.filter(name=HOOK).exists():
        deploys.create_hook(HOOK, "generic", component="api", secret=deploy_secret())


def let_the_agent_act() -> None:
    for action in AUTO_ACTIONS:
        policy.set_policy(AGENT, action, policy.Mode.AUTO, policy.Limits(), actor="cli:demo")


def load(now: datetime, sim_port: int, web_port: int, owner: User | None) -> int:
    """Set up monitoring (idempotent) and replay the stories not yet told; returns how many."""
    first = not Monitor.objects.filter(source=Monitor.Source.CONFIG).exists()
    with clock.replaying(now - timedelta(days=90) if first else now):
        apply_config(sim_port, web_port)
        ensure_hook()
        if first:
            let_the_agent_act()
    told = 0
    for story in STORIES:
        if not _told(story):
            replay(story, now, owner)
            told += 1
    if told:
        # The replay's latencies were those of an in-process transport: live checks over
        # loopback learn their own normal instead of looking thousands of % slower.
        Monitor.objects.filter(name__in=[s.monitor for s in STORIES]).update(normal_latencies_ms=[])
    return told


def _told(story: Story) -> bool:
    """Told since the demo was last reset (the audit trail says both)."""
    events = AuditEvent.objects.filter(actor="cli:demo")
    reset = events.filter(action="demo.reset").order_by("-id").values_list("id", flat=True)
    told = events.filter(action=TOLD, subject_type="demo_story", subject_id=story.name)
    last_reset = reset.first()
    return told.filter(id__gt=last_reset).exists() if last_reset else told.exists()


def replay(story: Story, now: datetime, owner: User | None) -> None:
    """Tell one story: healthy checks, the fault, the response, recovery, resolution."""
    platform = inkwell.Platform()
    monitor = Monitor.objects.get(name=story.monitor)
    start = now - timedelta(days=story.days_ago)
    moment = start - 24 * TICK  # healthy first: the monitor learns its normal latency
    http.set_transport(inkwell.transport(platform))
    http.set_async_transport(inkwell.transport(platform))
    try:
        with jobs.running_inline():
            while moment < start:
                _tick(monitor, moment)
                moment += TICK
            _break(story, platform, moment)
            end = moment + timedelta(minutes=story.minutes)
            acked = False
            while moment < end + timedelta(minutes=20):
                if moment >= end:
                    story.heals(platform)
                if story.acknowledge_after and not acked and owner is not None:
                    acked = _acknowledge_after(story, monitor, moment, owner)
                _tick(monitor, moment)
                moment += TICK
    finally:
        http.set_transport(None)
        http.set_async_transport(None)
    audit.record("cli:demo", TOLD, ("demo_story", story.name), outcome="replayed")


def _break(story: Story, platform: inkwell.Platform, moment: datetime) -> None:
    with clock.replaying(moment):
        if story.deploy:
            body, headers = inkwell.deploy_request(
                deploy_secret(), inkwell.BAD_RELEASE, "succeeded", moment.timestamp()
            )
            deploys.receive(HOOK, headers, body)
        story.breaks(platform)


def _acknowledge_after(story: Story, monitor: Monitor, moment: datetime, owner: User) -> bool:
    incident = Incident.objects.filter(alerts__fingerprint__startswith=f"monitor:{monitor.name}:")
    found = incident.order_by("-started_at").first()
    if found is None or story.acknowledge_after is None:
        return False
    if moment - found.detected_at < story.acknowledge_after:
        return False
    with clock.replaying(moment):
        acknowledge(found, owner)
    return True


def _tick(monitor: Monitor, moment: datetime) -> None:
    """One check at `moment`, through the real check and state machine, then the minute's
    incident work (pages, reminders, runbook waits, auto-resolve)."""
    with clock.replaying(moment):
        monitor.refresh_from_db()
        result = asyncio.run(_check(monitor, moment))
        services.record_results([services.Run(monitor.pk, moment, result)])
        incident_tasks.tick()


async def _check(monitor: Monitor, moment: datetime) -> ProbeResult:
    context = checks.Context()
    try:
        return await checks.run(monitor, context, now=moment)
    finally:
        await context.aclose()


def reset() -> None:
    """Remove the demo's monitoring records: its incidents, monitors, components, hook and
    runbook (the audit trail keeps their history)."""
    parsed = config.parse(monitors_yaml(1, 1), source=SOURCE)
    slugs = [component.slug for component in parsed.components]
    incidents = Incident.objects.filter(components__slug__in=slugs).distinct()
    runs = RunbookRun.objects.filter(incident__in=incidents).values_list("pk", flat=True)
    updates = StatusUpdate.objects.filter(incident__in=incidents).values_list("pk", flat=True)
    Approval.objects.filter(subject_type="runbook_run", subject_id__in=map(str, runs)).delete()
    Approval.objects.filter(subject_type="status_update", subject_id__in=map(str, updates)).delete()
    Incident.objects.filter(pk__in=list(incidents.values_list("pk", flat=True))).delete()
    Monitor.objects.filter(name__in=[monitor.name for monitor in parsed.monitors]).delete()
    Runbook.objects.filter(name__in=[runbook.name for runbook in parsed.runbooks]).delete()
    DeployHook.objects.filter(name=HOOK).delete()
    Component.objects.filter(slug__in=slugs).delete()
