"""`POST /api/logs` and `POST /api/metrics`: what the founder's application sends in.

The body is a JSON array of objects or JSON Lines (one object a line); its size is capped by
FOUNDEROPS_MAX_REQUEST_BYTES (413). A record that cannot be read is reported with its line (or
item) number and skipped; the others are kept (200). Nothing valid at all: 422.

Logs are not idempotent line by line (two identical lines are two lines), but a batch may carry
`X-Batch-Id`: a batch id seen in the last day is answered `"batch": "replay"` and counted
nothing, so a shipper's retry never double-counts. The id is remembered in the rate-counter
table under its day, inside the transaction that stores the batch, so a batch that failed half
way can be sent again.
"""

from __future__ import annotations

from datetime import UTC, timedelta

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from founderops.api.auth import require_scope
from founderops.api.schemas import ErrorOut
from founderops.core import clock, ratelimit
from founderops.core.models import RateCounter
from founderops.monitoring import logs, metric_ingest

router = Router(tags=["monitoring"])
BATCH_HEADER = "X-Batch-Id"
MAX_BATCH_ID = 200


class ProblemOut(Schema):
    where: str
    reason: str


class LogsOut(Schema):
    accepted: int
    parsed: int
    dropped: int
    new_templates: int
    rejected: list[ProblemOut]
    batch: str
    note: str


class MetricsOut(Schema):
    accepted: int
    anomalies: list[str]
    rejected: list[ProblemOut]
    batch: str


class RefusedOut(Schema):
    detail: str
    rejected: list[ProblemOut]


_ERRORS = {code: ErrorOut for code in (400, 401, 403, 413)}


@router.post("/logs", response={200: LogsOut, 422: RefusedOut, **_ERRORS})
def post_logs(request: HttpRequest) -> object:
    """Log lines `{"service", "message", "level"?, "at"?}`; unknown fields are ignored."""
    require_scope(request, "logs:write")
    lines, problems = logs.read_log_lines(_body(request), clock.now())
    if not lines:
        return _refused(problems)
    ingestor = logs.ingestor()
    with transaction.atomic():
        if not _first_time("logs", _batch_id(request)):
            return Status(200, _logs_out(logs.Ingested(), problems, "replay", ""))
        done = ingestor.ingest(lines)
        ingestor.flush()
    problems += [logs.Problem("batch", reason) for reason in done.refused]
    note = f"flood control: {done.parsed:,} of {done.lines:,} lines parsed" if done.dropped else ""
    return Status(200, _logs_out(done, problems, "new", note))


@router.post("/metrics", response={200: MetricsOut, 422: RefusedOut, **_ERRORS})
def post_metrics(request: HttpRequest) -> object:
    """Points `{"series", "value", "at"?, "unit"?, "component"?}`."""
    require_scope(request, "metrics:write")
    points, problems = metric_ingest.read_points(_body(request), clock.now())
    owned = metric_ingest.monitor_series(points)
    points = [p for p in points if p.series not in owned]
    problems += [
        logs.Problem(f"series {name!r}", "fed by a monitor; post to a series of your own")
        for name in sorted(owned)
    ]
    if not points:
        return _refused(problems)
    with transaction.atomic():
        if not _first_time("metrics", _batch_id(request)):
            return Status(200, MetricsOut(accepted=0, anomalies=[], rejected=[], batch="replay"))
        done = metric_ingest.ingest_points(points)
    rejected = [ProblemOut(where=p.where, reason=p.reason) for p in problems]
    return Status(
        200,
        MetricsOut(
            accepted=done.accepted, anomalies=done.anomalies, rejected=rejected, batch="new"
        ),
    )


def _body(request: HttpRequest) -> bytes:
    body = request.body  # RequestDataTooBig past the cap: answered 413
    if not body.strip():
        raise HttpError(422, "the request body is empty: send a JSON array or JSON Lines")
    return body


def _refused(problems: list[logs.Problem]) -> Status[RefusedOut]:
    listed = "; ".join(str(p) for p in problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return Status(
        422,
        RefusedOut(
            detail=f"nothing could be accepted: {listed}{more}",
            rejected=[ProblemOut(where=p.where, reason=p.reason) for p in problems],
        ),
    )


def _logs_out(done: logs.Ingested, problems: list[logs.Problem], batch: str, note: str) -> LogsOut:
    return LogsOut(
        accepted=done.lines,
        parsed=done.parsed,
        dropped=done.dropped,
        new_templates=done.new_templates,
        rejected=[ProblemOut(where=p.where, reason=p.reason) for p in problems],
        batch=batch,
        note=note,
    )


def _batch_id(request: HttpRequest) -> str:
    batch = request.headers.get(BATCH_HEADER, "").strip()
    if len(batch) > MAX_BATCH_ID or not batch.isprintable():
        raise HttpError(422, f"{BATCH_HEADER} must be at most {MAX_BATCH_ID} printable characters")
    return batch


def _first_time(kind: str, batch: str) -> bool:
    """Remember the batch id for at least a day; False when it was seen already."""
    if not batch:
        return True
    key = ratelimit.key_for(f"{kind}-batch", batch)
    today = clock.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if RateCounter.objects.filter(key=key, window_start=today - timedelta(days=1)).exists():
        return False
    try:
        with transaction.atomic():
            RateCounter.objects.create(key=key, window_start=today, count=1)
    except IntegrityError:
        return False
    return True
