"""What the patient's home page shows: upcoming visits with how to prepare for each."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from clinic.extensions import db
from clinic.models.base import utcnow
from clinic.patients.models import Patient
from clinic.scheduling.models import Appointment, Status, VisitKind

UPCOMING_STATUSES = (Status.BOOKED, Status.CHECKED_IN)

# Practical notes per kind of visit (logistics, not clinical advice; that lives in the
# versioned instructions).
PREPARE = {
    VisitKind.EVALUATION: "Allow about an hour. Bring your imaging reports or discs, a list of "
    "your medicines, and notes on the treatments you have already tried.",
    VisitKind.PROCEDURE: "Allow two to three hours and bring someone to drive you home. "
    "Read “Before your procedure” in your instructions.",
    VisitKind.FOLLOW_UP: "About 30 minutes. Filling in your questionnaires beforehand helps.",
    VisitKind.PHONE_CHECK: "A short call from the care team to the phone number we have for you.",
}


def upcoming_visits(patient: Patient, limit: int = 5) -> list[Appointment]:
    """The patient's next booked visits, soonest first, with clinician and room loaded."""
    return db.session.scalars(
        sa.select(Appointment)
        .options(joinedload(Appointment.provider), joinedload(Appointment.room))
        .where(
            Appointment.patient_id == patient.id,
            Appointment.status.in_(UPCOMING_STATUSES),
            Appointment.ends_at >= utcnow(),
        )
        .order_by(Appointment.starts_at)
        .limit(limit)
    ).all()
