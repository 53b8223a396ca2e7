"""Recovery follow-ups: generated from the therapy's protocol when the injection is signed."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from clinic.auth.models import User
from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.models.custody import FollowUpStatus
from clinic.journeys.services.journeys import record_of
from clinic.models import audit
from clinic.timeutil import to_clinic


def injection_day(stage: m.Stage) -> date:
    record = record_of(stage)
    moment = record.procedure_started_at or stage.completed_at
    return to_clinic(moment).date()


def generate_follow_ups(stage: m.Stage, by: User) -> list[m.FollowUp]:
    """One follow-up per active protocol step of the therapy, dated from the injection day."""
    journey = stage.journey
    day = injection_day(stage)
    steps = db.session.scalars(
        sa.select(m.FollowUpProtocolStep)
        .where(m.FollowUpProtocolStep.therapy == journey.therapy, m.FollowUpProtocolStep.active)
        .order_by(m.FollowUpProtocolStep.position)
    ).all()
    created = []
    for step in steps:
        due = day + timedelta(days=step.due_days)
        follow_up = m.FollowUp(
            patient_id=journey.patient_id,
            journey_id=journey.id,
            cycle_id=stage.cycle_id,
            protocol_step_id=step.id,
            label=step.label,
            due_on=due,
            window_opens_on=due - timedelta(days=step.window_before_days),
            window_closes_on=due + timedelta(days=step.window_after_days),
        )
        db.session.add(follow_up)
        created.append(follow_up)
    db.session.flush()
    audit.record(
        "follow_ups.generated",
        actor=by,
        obj=journey,
        patient_id=journey.patient_id,
        detail=f"{len(created)} follow-ups from {day.isoformat()}",
    )
    return created


def due_follow_ups(on: date, *, provider_id: int | None = None) -> list[m.FollowUp]:
    """Scheduled follow-ups whose window is open on this day (scheduling books them)."""
    query = (
        sa.select(m.FollowUp)
        .options(joinedload(m.FollowUp.patient))
        .where(
            m.FollowUp.status == FollowUpStatus.SCHEDULED,
            m.FollowUp.window_opens_on <= on,
            m.FollowUp.window_closes_on >= on,
        )
        .order_by(m.FollowUp.due_on, m.FollowUp.id)
    )
    if provider_id is not None:
        query = query.join(m.Journey, m.Journey.id == m.FollowUp.journey_id).where(
            m.Journey.provider_id == provider_id
        )
    return list(db.session.scalars(query))


def set_follow_up_status(follow_up: m.FollowUp, status: FollowUpStatus, by: User) -> None:
    follow_up.status = status
    db.session.flush()
    audit.record(
        "follow_up.status",
        actor=by,
        obj=follow_up,
        patient_id=follow_up.patient_id,
        detail=status.value,
    )
