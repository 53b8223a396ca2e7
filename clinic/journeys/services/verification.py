"""Second-person checks confirmed with each person's own credentials: the product's verifier
and every member of the time-out team (their password on the same screen, or their own
signed-in session). Failed attempts are audited even though the request is refused."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from clinic.auth.models import User
from clinic.auth.passwords import verify_password
from clinic.errors import Refused
from clinic.extensions import db
from clinic.journeys import models as m
from clinic.models import audit
from clinic.models.audit import AuditEvent
from clinic.models.base import utcnow
from clinic.policy import CLINICAL
from clinic.transaction import keep_after_rollback


def confirm_person(
    stage: m.Stage,
    person: User | None,
    password: str | None,
    by: User,
    *,
    purpose: str,
    field: str | None,
) -> str:
    """'session' when `person` is the signed-in user, 'password' when theirs is right; else no."""
    if person is None or not person.active or person.role not in CLINICAL:
        raise Refused("Choose a member of the clinical team.", field=field)
    if person.id == by.id:
        return "session"
    if _recent_failures(person) >= MAX_FAILURES:
        raise Refused(
            f"Too many wrong passwords for {person.full_name}: wait a minute and try again.",
            field=field,
        )
    if not password or not verify_password(person.password_hash, password):
        keep_after_rollback(
            action="verification.failed",
            actor=by,
            obj=stage,
            patient_id=stage.journey.patient_id,
            detail=f"{purpose}: {person.full_name} (user {person.id})",
        )
        raise Refused(
            f"{person.full_name} must confirm with their own password (it was missing or wrong).",
            field=field,
        )
    return "password"


MAX_FAILURES = 5  # a minute, per person confirmed: typing someone else's password is no guess


def _recent_failures(person: User) -> int:
    """Wrong passwords for this person in the last minute (kept audit rows)."""
    since = utcnow() - timedelta(minutes=1)
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "verification.failed",
                AuditEvent.occurred_at >= since,
                AuditEvent.detail.like(f"%(user {person.id})"),
            )
        )
        or 0
    )


def verify_product(
    stage: m.Stage, record: m.ProcessingRecord, password: str | None, by: User
) -> None:
    """The second person confirms the product they verify."""
    person = db.session.get(User, record.verified_by_id) if record.verified_by_id else None
    how = confirm_person(
        stage, person, password, by, purpose="product verification", field="verifier_password"
    )
    record.verified_at = utcnow()
    audit.record(
        "product.verified",
        actor=person,
        obj=stage,
        patient_id=stage.journey.patient_id,
        detail=f"confirmed by {how}; entered by {by.full_name}",
    )


def confirm_member(stage: m.Stage, person: User | None, password: str | None, by: User) -> None:
    """One team member confirms the time-out in person."""
    how = confirm_person(stage, person, password, by, purpose="time-out", field=None)
    assert person is not None
    taken = db.session.scalar(
        sa.select(m.TimeoutMember.id).where(
            m.TimeoutMember.stage_id == stage.id, m.TimeoutMember.user_id == person.id
        )
    )
    if taken is None:
        db.session.add(
            m.TimeoutMember(
                stage_id=stage.id, user_id=person.id, confirmed_at=utcnow(), confirmed_by=how
            )
        )
        db.session.flush()
    audit.record(
        "timeout.member_confirmed",
        actor=person,
        obj=stage,
        patient_id=stage.journey.patient_id,
        detail=f"confirmed by {how}",
    )


# Built once (its loader option and cache key cost more to make than the answer took).
_TEAM = (
    sa.select(m.TimeoutMember)
    .where(m.TimeoutMember.stage_id == sa.bindparam("team_stage", type_=sa.Integer))
    .options(joinedload(m.TimeoutMember.user))
    .order_by(m.TimeoutMember.id)
)


def team_of(stage: m.Stage) -> list[m.TimeoutMember]:
    """The time-out's confirmed members, each with their user (one statement)."""
    return list(db.session.scalars(_TEAM, {"team_stage": stage.id}))
