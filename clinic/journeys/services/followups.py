"""Recovery follow-ups: generated from the therapy's protocol when the patient is discharged."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from clinic.auth.models import User
from clinic.errors import Refused, StaleWrite
from clinic.extensions import db
from clinic.journeys import codes
from clinic.journeys import models as m
from clinic.journeys.models.custody import (
    FollowUpStatus,
    LaterProcedure,
    LossReason,
    PainMedicine,
    WorkStatus,
)
from clinic.journeys.services.journeys import record_of
from clinic.journeys.states import move_follow_up
from clinic.models import audit
from clinic.models.base import utcnow
from clinic.outcomes.journey_hooks import assign_for_follow_ups
from clinic.policy import CLINICAL
from clinic.timeutil import to_clinic


def injection_day(stage: m.Stage) -> date:
    record = record_of(stage)
    moment = record.procedure_started_at or stage.completed_at
    return to_clinic(moment).date()


def has_follow_ups(cycle: m.Cycle | None) -> bool:
    """Whether this cycle's follow-ups were already generated."""
    if cycle is None:
        return False
    found = db.session.scalar(sa.select(m.FollowUp.id).where(m.FollowUp.cycle_id == cycle.id))
    return found is not None


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

    assign_for_follow_ups(journey, stage.cycle.number, created, day, by)
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


PLANS = {plan.value: plan.label for plan in codes.FollowUpPlan}
# What the follow-up form records; the four yes/no adverse boxes and the free-text medication
# and work fields of earlier visits stay on the record, readable, but are no longer asked.
ASSESSMENT_FIELDS = (
    "pain_medicine",
    "opioid_mme_per_day",
    "work_status",
    "later_procedure",
    "later_procedure_on",
    "provider_note",
    "plan",
)


def _require_open(follow_up: m.FollowUp, by: User, version: int | None) -> None:
    if by.role not in CLINICAL:
        raise Refused("Only the clinical team records follow-ups.")
    if version is not None and int(version) != follow_up.version:
        raise StaleWrite()
    if follow_up.status is not FollowUpStatus.SCHEDULED:
        raise Refused(f"This follow-up is already {follow_up.status.value}.")


def record_follow_up(
    follow_up: m.FollowUp, values: dict, by: User, version: int | None = None
) -> None:
    """The assessment: pain medicine, work, later procedures, note and plan; then it is done."""
    _require_open(follow_up, by, version)
    if values.get("plan") not in PLANS:
        raise Refused("Choose the plan.", field="plan")
    values = _checked_facts(values)
    for name in ASSESSMENT_FIELDS:
        setattr(follow_up, name, values.get(name))
    move_follow_up(follow_up, FollowUpStatus.DONE)
    follow_up.completed_at = utcnow()
    follow_up.completed_by_id = by.id
    db.session.flush()
    audit.record(
        "follow_up.recorded",
        actor=by,
        obj=follow_up,
        patient_id=follow_up.patient_id,
        detail=f"{follow_up.label}: {follow_up.plan}",
    )


def _checked_facts(values: dict) -> dict:
    """The structured facts as enums, refusing an opioid without its dose and the reverse."""
    values = dict(values)
    for name, kind in (
        ("pain_medicine", PainMedicine),
        ("work_status", WorkStatus),
        ("later_procedure", LaterProcedure),
    ):
        values[name] = kind(values[name]) if values.get(name) else None
    if values["pain_medicine"] is PainMedicine.OPIOID and values.get("opioid_mme_per_day") is None:
        raise Refused("Give the daily opioid dose.", field="opioid_mme_per_day")
    opioid = values["pain_medicine"] is PainMedicine.OPIOID
    if not opioid and values.get("opioid_mme_per_day") is not None:
        raise Refused("A dose is only asked for opioid medicine.", field="opioid_mme_per_day")
    had_one = values["later_procedure"] in (LaterProcedure.INJECTION, LaterProcedure.SURGERY)
    if values.get("later_procedure_on") is not None and not had_one:
        raise Refused("A date is only asked when there was a procedure.", "later_procedure_on")
    return values


def mark_missed(
    follow_up: m.FollowUp,
    by: User,
    version: int | None = None,
    *,
    reason: LossReason | str | None = None,
    detail: str | None = None,
) -> None:
    """The patient was not seen in the window; why they were lost is always recorded."""
    _require_open(follow_up, by, version)
    if not reason:
        raise Refused("Choose why the follow-up was missed.", field="reason")
    reason = LossReason(reason)
    if reason is LossReason.NOT_RECORDED:
        raise Refused("Choose why the follow-up was missed.", field="reason")
    if reason is LossReason.OTHER and not (detail or "").strip():
        raise Refused("Say what the other reason was.", field="detail")
    move_follow_up(follow_up, FollowUpStatus.MISSED)
    follow_up.loss_reason = reason
    follow_up.loss_detail = (detail or "").strip()[:300] or None
    db.session.flush()
    audit.record(
        "follow_up.missed",
        actor=by,
        obj=follow_up,
        patient_id=follow_up.patient_id,
        detail=reason.value,
    )
