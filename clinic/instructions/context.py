"""Which therapy a patient had and when: the facts that choose their instructions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.services.followups import injection_day
from clinic.journeys.states import JourneyStatus, StageKind, StageStatus
from clinic.patients.models import Patient


@dataclass(frozen=True)
class Treatment:
    therapy: str | None  # None until a treatment is planned
    injected_on: date | None  # None before the (latest) injection


def treatment_of(patient: Patient) -> Treatment:
    """The patient's current treatment: the therapy of their latest journey that is going ahead,
    and the clinic-calendar day of its latest completed injection (two queries)."""

    journey = db.session.scalars(
        sa.select(m.Journey)
        .where(
            m.Journey.patient_id == patient.id,
            m.Journey.status.not_in([JourneyStatus.NOT_CANDIDATE, JourneyStatus.CANCELLED]),
        )
        .order_by(m.Journey.created_at.desc(), m.Journey.id.desc())
        .limit(1)
    ).first()
    if journey is None:
        return Treatment(None, None)
    injection = db.session.scalars(
        sa.select(m.Stage)
        .where(
            m.Stage.journey_id == journey.id,
            m.Stage.kind == StageKind.INJECTION,
            m.Stage.status.in_([StageStatus.COMPLETED, StageStatus.SIGNED]),
        )
        .order_by(m.Stage.completed_at.desc())
        .limit(1)
    ).first()
    return Treatment(journey.therapy.value, injection_day(injection) if injection else None)
