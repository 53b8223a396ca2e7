"""What the patient's home page shows: upcoming visits with how to prepare for each."""

from __future__ import annotations

import sqlalchemy as sa

from clinic.auth.models import User
from clinic.extensions import db
from clinic.models.base import utcnow
from clinic.patients.models import Patient
from clinic.scheduling.models import Appointment, Room, Status, VisitKind

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


# Built once: building and keying a statement costs about as much as running it here.
_UPCOMING = (
    sa.select(
        Appointment.starts_at,
        Appointment.kind,
        User.full_name.label("provider_name"),
        Room.name.label("room_name"),
    )
    .join(User, User.id == Appointment.provider_id)
    .outerjoin(Room, Room.id == Appointment.room_id)
    .where(
        Appointment.patient_id == sa.bindparam("patient_id"),
        Appointment.status.in_(UPCOMING_STATUSES),
        Appointment.ends_at >= sa.bindparam("now"),
    )
    .order_by(Appointment.starts_at)
    .limit(sa.bindparam("limit"))
)


def upcoming_visits(patient: Patient, limit: int = 5) -> list[sa.Row]:
    """The patient's next booked visits, soonest first: when, what kind, with whom, where."""
    params = {"patient_id": patient.id, "now": utcnow(), "limit": limit}
    return db.session.execute(_UPCOMING, params).all()
