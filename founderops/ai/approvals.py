"""The one approval inbox. Domains ask; the founder decides; the decision is audited."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from founderops.ai.models import Approval
from founderops.core import audit, clock
from founderops.core.errors import InvalidInput


def request(
    agent: str,
    action: str,
    subject: tuple[str, object],
    summary: str,
    reason: str,
    payload: dict[str, object],
) -> Approval:
    """Open an approval, or return the pending one for the same subject (never two)."""
    subject_type, subject_id = subject[0], str(subject[1])
    pending = Approval.objects.filter(
        agent=agent,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        status=Approval.Status.PENDING,
    )
    try:
        with transaction.atomic():
            approval = Approval.objects.create(
                created_at=clock.now(),
                agent=agent,
                action=action,
                subject_type=subject_type,
                subject_id=subject_id,
                summary=summary[:300],
                reason=reason,
                payload=payload,
            )
    except IntegrityError:
        return pending.get()
    audit.record(
        f"agent:{agent}",
        f"{agent}.approval_requested",
        subject,
        outcome="pending",
        details={"approval": approval.pk, "action": action, "reason": reason},
    )
    return approval


def decide(
    approval: Approval, user: AbstractBaseUser, status: str, resolution: dict[str, object]
) -> Approval:
    if status == Approval.Status.PENDING or status not in Approval.Status.values:
        raise InvalidInput(f"not a decision: {status!r}")
    # A conditional update claims the approval, so two clicks cannot both decide it.
    claimed = Approval.objects.filter(pk=approval.pk, status=Approval.Status.PENDING).update(
        status=status, decided_at=clock.now(), decided_by=user, resolution=resolution
    )
    if not claimed:
        raise InvalidInput("this approval was already decided")
    approval.refresh_from_db()
    audit.record(
        f"user:{user.get_username()}",
        f"{approval.agent}.approval_decided",
        (approval.subject_type, approval.subject_id),
        outcome=status,
        details={"approval": approval.pk, "action": approval.action},
    )
    return approval


def pending() -> list[Approval]:
    return list(Approval.objects.filter(status=Approval.Status.PENDING).order_by("created_at"))
