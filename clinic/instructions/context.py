"""Which therapy a patient had and when: the facts that choose their instructions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.states import JourneyStatus, StageKind, StageStatus
from clinic.models.base import UTCDateTime
from clinic.patients.models import Patient
from clinic.timeutil import to_clinic


@dataclass(frozen=True)
class Treatment:
    therapy: str | None  # None until a treatment is planned
    injected_on: date | None  # None before the (latest) injection


def treatment_of(patient: Patient) -> Treatment:
    """The patient's current treatment: the therapy of their latest journey that is going ahead,
    and the clinic-calendar day of its latest completed injection (one statement; the day is
    `followups.injection_day`'s: the procedure's start, else the stage's completion)."""

    journey = (
        sa.select(m.Journey.id, m.Journey.therapy)
        .where(
            m.Journey.patient_id == patient.id,
            m.Journey.status.not_in([JourneyStatus.NOT_CANDIDATE, JourneyStatus.CANCELLED]),
        )
        .order_by(m.Journey.created_at.desc(), m.Journey.id.desc())
        .limit(1)
        .subquery()
    )
    injected_at = (
        sa.select(sa.func.coalesce(m.InjectionRecord.procedure_started_at, m.Stage.completed_at))
        .select_from(m.Stage)
        .outerjoin(m.InjectionRecord, m.InjectionRecord.stage_id == m.Stage.id)
        .where(
            m.Stage.journey_id == journey.c.id,
            m.Stage.kind == StageKind.INJECTION,
            m.Stage.status.in_([StageStatus.COMPLETED, StageStatus.SIGNED]),
        )
        .order_by(m.Stage.completed_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    row = db.session.execute(
        sa.select(journey.c.therapy, sa.type_coerce(injected_at, UTCDateTime))
    ).first()
    if row is None:
        return Treatment(None, None)
    therapy, moment = row
    return Treatment(therapy.value, to_clinic(moment).date() if moment else None)
