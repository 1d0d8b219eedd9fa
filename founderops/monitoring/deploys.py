"""Deploy webhooks: a deploy platform tells FounderOps what it shipped, signed with a secret.

Two dialects arrive at `/hooks/deploy/<name>/`:

- **Vercel**: `x-vercel-signature` is the hex HMAC-SHA1 of the raw body with the hook's secret;
  events `deployment.created|succeeded|error|canceled` carry `payload.deployment.id`, the
  commit in `payload.deployment.meta`, `payload.target` and `payload.url`; other events are
  acknowledged and ignored.
- **Generic** (any CI script): `X-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>` or
  `Authorization: Bearer <secret>`; a JSON object `{id, state, environment, url, commit,
  message, at}`.

The signature is checked on the raw bytes with `hmac.compare_digest` before the body is
parsed: a forged request stores nothing. An event whose time is further than `TOLERANCE` from
our clock is refused (a captured request cannot be replayed later; our own clock may be off by
a little). Deliveries are idempotent: one Deploy row per platform id, and an event already
applied (same event id, or same state) changes nothing, so a retried webhook is harmless.

A failed production deploy fires a `deploy_failed` signal for the hook's component; a later
successful deploy through the same hook clears it. Every stored change is written on the
timeline of the open incidents of that component (all open incidents when the hook has none):
"what was deployed around the start" is the first question of a diagnosis.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets as random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction

from founderops.core import audit, clock, secrets
from founderops.core.errors import InvalidInput
from founderops.incidents import services as incidents
from founderops.incidents.alerts import Signal
from founderops.incidents.models import Alert, Component, TimelineEntry
from founderops.monitoring.models import Deploy, DeployHook

ACTOR = "agent:monitoring"
TOLERANCE = timedelta(minutes=15)
MAX_BODY_BYTES = 1024 * 1024
ID_CHARS = 200  # Deploy.external_id's max_length
CAUSE = "deploy_failed"
PRODUCTION = {"", "production", "prod"}

VERCEL_EVENTS = {
    "deployment.created": Deploy.State.STARTED,
    "deployment.succeeded": Deploy.State.SUCCEEDED,
    "deployment.ready": Deploy.State.SUCCEEDED,
    "deployment.error": Deploy.State.FAILED,
    "deployment.canceled": Deploy.State.CANCELED,
}
GENERIC_STATES = {state.value for state in Deploy.State}
# A deploy's states in order: an event for an earlier state arriving late changes nothing.
RANK = {Deploy.State.STARTED: 0}


class HookError(Exception):
    status = 400
    code = "malformed"


class Malformed(HookError):
    pass


class Forged(HookError):
    status = 401
    code = "bad_signature"


class Stale(HookError):
    status = 400
    code = "stale"


class Unreadable(HookError):
    status = 503
    code = "secret_unreadable"


class UnknownHook(HookError):
    status = 404
    code = "unknown_hook"


class TooLarge(HookError):
    status = 413
    code = "too_large"


@dataclass(frozen=True)
class Event:
    """One delivery, read from either dialect."""

    event_id: str
    external_id: str
    state: str
    at: datetime
    environment: str = ""
    url: str = ""
    commit: str = ""
    message: str = ""


@dataclass(frozen=True)
class Outcome:
    deploy: Deploy | None
    stored: bool
    ignored: str = ""


# Hooks.


def create_hook(
    name: str, provider: str, component: str = "", secret: str = "", actor: str = "system"
) -> tuple[DeployHook, str]:
    """A new hook and its secret (generated unless the platform gave one): shown once."""
    if not re.fullmatch(r"[-a-zA-Z0-9_]{1,100}", name):
        # The name is the URL's last part (/hooks/deploy/NAME/): a slug, or no URL reaches it.
        raise InvalidInput(f"a hook name may hold only letters, digits, - and _ (not {name!r})")
    if provider not in DeployHook.Provider.values:
        raise InvalidInput(f"provider must be one of {', '.join(DeployHook.Provider.values)}")
    found = Component.objects.filter(slug=component).first() if component else None
    if component and found is None:
        raise InvalidInput(f"no component with the slug {component!r}")
    secret = secret.strip() or random.token_urlsafe(32)
    try:
        with transaction.atomic():
            hook = DeployHook.objects.create(
                name=name, provider=provider, component=found, secret_sealed=secrets.seal(secret)
            )
    except IntegrityError:
        raise InvalidInput(f"a deploy hook named {name!r} exists already") from None
    audit.record(actor, "monitoring.deploy_hook_created", ("deploy_hook", hook.pk))
    return hook, secret


def hook_named(name: str) -> DeployHook:
    hook = DeployHook.objects.select_related("component").filter(name=name).first()
    if hook is None:
        raise UnknownHook(f"no deploy hook named {name!r}")
    return hook


# Proof.


def verify(hook: DeployHook, headers: dict[str, str], body: bytes) -> None:
    """Raise Forged unless the request carries the hook's signature (or bearer secret)."""
    try:
        secret = secrets.reveal(hook.secret_sealed).encode()
    except InvalidInput as error:
        raise Unreadable(f"hook {hook.name!r}: {error}") from None
    lowered = {key.lower(): value for key, value in headers.items()}
    if hook.provider == DeployHook.Provider.VERCEL:
        _check_hmac(lowered.get("x-vercel-signature", ""), secret, body, hashlib.sha1, "")
        return
    bearer = lowered.get("authorization", "")
    if bearer.lower().startswith("bearer "):
        if not hmac.compare_digest(bearer[7:].strip().encode(), secret):
            raise Forged("the bearer token is not this hook's secret")
        return
    _check_hmac(lowered.get("x-signature-256", ""), secret, body, hashlib.sha256, "sha256=")


def _check_hmac(given: str, secret: bytes, body: bytes, digest: Any, prefix: str) -> None:
    header = "x-vercel-signature" if digest is hashlib.sha1 else "X-Signature-256"
    if not given:
        extra = "" if digest is hashlib.sha1 else " (or Authorization: Bearer <secret>)"
        raise Forged(f"the request has no {header} header{extra}")
    if prefix and not given.startswith(prefix):
        raise Forged(f"{header} must look like {prefix}<hex digest>")
    expected = hmac.new(secret, body, digest).hexdigest()
    if not hmac.compare_digest(
        given.removeprefix(prefix).strip().lower().encode(), expected.encode()
    ):
        raise Forged(f"{header} does not match the body signed with this hook's secret")


# Parsing.


def parse(provider: str, body: bytes) -> Event | None:
    """The event in `body` (None: a Vercel event that is not about a deployment's state)."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise Malformed(f"the body is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise Malformed("the body must be a JSON object")
    if provider == DeployHook.Provider.VERCEL:
        return _vercel(data)
    return _generic(data)


def _vercel(data: dict[str, Any]) -> Event | None:
    kind = _text(data, "type", required=True)
    if kind not in VERCEL_EVENTS:
        return None
    payload = _object(data, "payload")
    deployment = _object(payload, "deployment", where="payload.")
    found = deployment.get("meta")
    meta: dict[str, Any] = found if isinstance(found, dict) else {}
    created = data.get("createdAt")
    if not isinstance(created, int | float) or isinstance(created, bool):
        raise Malformed("createdAt must be a number (milliseconds since 1970)")
    return Event(
        event_id=_text(data, "id", required=True),
        external_id=_text(deployment, "id", required=True, where="payload.deployment."),
        state=VERCEL_EVENTS[kind],
        at=_from_epoch(created / 1000, "createdAt"),
        environment=_text(payload, "target", where="payload.") or "preview",
        url=_text(payload, "url", where="payload.") or _text(deployment, "url"),
        commit=_first(meta, ("githubCommitSha", "gitlabCommitSha", "bitbucketCommitSha")),
        message=_first(
            meta, ("githubCommitMessage", "gitlabCommitMessage", "bitbucketCommitMessage")
        ),
    )


def _generic(data: dict[str, Any]) -> Event:
    external_id = _text(data, "id", required=True)
    state = _text(data, "state", required=True)
    if state not in GENERIC_STATES:
        raise Malformed(f"state {state!r} is not one of {', '.join(sorted(GENERIC_STATES))}")
    return Event(
        event_id=f"{external_id}:{state}",
        external_id=external_id,
        state=state,
        at=_moment(data.get("at")),
        environment=_text(data, "environment"),
        url=_text(data, "url"),
        commit=_text(data, "commit"),
        message=_text(data, "message"),
    )


def _object(data: dict[str, Any], key: str, where: str = "") -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise Malformed(f"{where}{key} must be a JSON object")
    return value


def _text(data: dict[str, Any], key: str, required: bool = False, where: str = "") -> str:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise Malformed(f"{where}{key} is missing")
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise Malformed(f"{where}{key} must be a string")
    return str(value)[:2000]


def _first(meta: dict[str, Any], keys: tuple[str, ...]) -> str:
    return next((str(meta[key])[:2000] for key in keys if isinstance(meta.get(key), str)), "")


def _moment(value: object) -> datetime:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _from_epoch(float(value), "at")
    if not isinstance(value, str) or not value:
        raise Malformed("at is missing: the event's time, ISO 8601 or seconds since 1970")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Malformed(f"at {value!r} is not an ISO 8601 time like 2026-01-31T09:00:00Z") from None
    if moment.tzinfo is None:
        raise Malformed(f"at {value!r} has no time zone (add Z or +00:00)")
    return moment.astimezone(UTC)


def _from_epoch(seconds: float, name: str) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise Malformed(f"{name} is not a time") from None


def check_fresh(event: Event, now: datetime) -> None:
    skew = event.at - now
    if abs(skew) > TOLERANCE:
        direction = "in the future" if skew > timedelta(0) else "old"
        raise Stale(
            f"the event is {_minutes(abs(skew))} {direction} (at {event.at.isoformat()}); "
            f"events more than {_minutes(TOLERANCE)} from this server's clock are refused"
        )


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:.0f} min"


# Receiving.


def receive(name: str, headers: dict[str, str], body: bytes) -> Outcome:
    """Check, parse and apply one delivery (raises HookError with the status to answer)."""
    if len(body) > MAX_BODY_BYTES:
        raise TooLarge(f"the body is larger than {MAX_BODY_BYTES} bytes")
    hook = hook_named(name)
    verify(hook, headers, body)
    event = parse(hook.provider, body)
    if event is None:
        return Outcome(None, stored=False, ignored="not a deployment state event")
    check_fresh(event, clock.now())
    return apply(hook, event)


def apply(hook: DeployHook, event: Event) -> Outcome:
    with transaction.atomic():
        # Looked up as stored (cut to the column's width), so a retried long id is found.
        deploy = (
            Deploy.objects.select_for_update()
            .filter(hook=hook, external_id=event.external_id[:ID_CHARS])
            .first()
        )
        if deploy is not None and not _changes(deploy, event):
            return Outcome(deploy, stored=False, ignored="already recorded")
        deploy = _save(hook, deploy, event)
        _tell_incidents(hook, deploy)
    audit.record(
        ACTOR,
        "monitoring.deploy_recorded",
        ("deploy", deploy.pk),
        outcome=deploy.state,
        details={"hook": hook.name, "id": deploy.external_id, "environment": deploy.environment},
    )
    return Outcome(deploy, stored=True)


def _changes(deploy: Deploy, event: Event) -> bool:
    if event.event_id == deploy.last_event_id or event.state == deploy.state:
        return False
    # "created" arriving after "succeeded" (deliveries are not ordered) is history, not news.
    return not (event.state in RANK and deploy.state not in RANK)


def _save(hook: DeployHook, deploy: Deploy | None, event: Event) -> Deploy:
    fields = {
        "state": event.state,
        "at": event.at,
        "environment": event.environment[:50],
        "url": event.url,
        "commit": event.commit[:100],
        "message": event.message,
        "last_event_id": event.event_id[:200],
    }
    if deploy is None:
        return Deploy.objects.create(hook=hook, external_id=event.external_id[:ID_CHARS], **fields)
    for key, value in fields.items():
        # A later event may leave out what an earlier one said (the commit): keep it.
        if value or key in {"state", "at", "last_event_id"}:
            setattr(deploy, key, value)
    deploy.save()
    return deploy


def describe(deploy: Deploy) -> str:
    commit = f" {deploy.commit[:8]}" if deploy.commit else ""
    message = f" “{deploy.message.splitlines()[0][:80]}”" if deploy.message.strip() else ""
    env = deploy.environment or "an unnamed environment"
    return f"Deploy{commit}{message} to {env} via {deploy.hook.name}: {deploy.state}"


def _tell_incidents(hook: DeployHook, deploy: Deploy) -> None:
    component = hook.component.slug if hook.component else ""
    production = deploy.environment.lower() in PRODUCTION
    if production and deploy.state == Deploy.State.FAILED:
        incidents.fire(_signal(hook, deploy, component))
    elif production and deploy.state == Deploy.State.SUCCEEDED:
        _clear_failures(hook, deploy.at)
    open_ones = incidents.open_incidents()
    if hook.component is not None:
        open_ones = open_ones.filter(components=hook.component)
    data = {"deploy": deploy.pk, "hook": hook.name, "state": deploy.state, "commit": deploy.commit}
    for incident in open_ones.distinct():
        incidents.add_entry(
            incident, TimelineEntry.Kind.DEPLOY, describe(deploy), deploy.at, data=data
        )


def fingerprint(hook: DeployHook, deploy: Deploy) -> str:
    return f"deploy:{hook.name}:{deploy.external_id}"[:200]


def _signal(hook: DeployHook, deploy: Deploy, component: str) -> Signal:
    return Signal(
        fingerprint=fingerprint(hook, deploy),
        source=Alert.Source.DEPLOY,
        cause=CAUSE,
        title=describe(deploy),
        at=deploy.at,
        component=component,
        facts={
            "hook": hook.name,
            "deploy": deploy.external_id,
            "environment": deploy.environment,
            "commit": deploy.commit,
        },
    )


def _clear_failures(hook: DeployHook, at: datetime) -> None:
    firing = Alert.objects.filter(
        state=Alert.State.FIRING, cause=CAUSE, fingerprint__startswith=f"deploy:{hook.name}:"
    )
    for key in list(firing.values_list("fingerprint", flat=True)):
        incidents.clear(key, at)
