"""Demo recalls: journeys treated 12 and 40 days ago (their follow-ups are due now), on top
of the journeys demo's (treated 20 days ago: day-2 call and 2-week visit overdue), and one
follow-up booked from the recall list."""

from __future__ import annotations

import sqlalchemy as sa

from clinic.auth.models import User
from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys import walkthrough as walk
from clinic.journeys.services import journeys
from clinic.journeys.states import Therapy
from clinic.models.base import utcnow
from clinic.patients.models import Patient
from clinic.scheduling import recalls, services
from clinic.timeutil import clinic_today

TREATED = (
    (Therapy.PRP, 12, "dr.patel@demo.example.com"),
    (Therapy.BMAC, 40, "dr.novak@demo.example.com"),
)


def _user(email: str) -> User:
    return db.session.scalar(sa.select(User).where(User.email == email))


def _treat(patient: Patient, therapy: Therapy, days_ago: int, provider: User, nurse: User) -> None:
    condition = db.session.scalar(sa.select(m.Condition).where(m.Condition.active).limit(1))
    journey = journeys.open_journey(
        patient,
        therapy=therapy,
        provider=provider,
        condition_ids=[condition.id],
        targets=[("L4-L5", "midline", "disc")],
        by=provider,
    )
    walk.evaluate(journey, provider)
    walk.collect(journey, nurse if therapy is Therapy.PRP else provider)
    walk.process(journey, nurse, provider)
    walk.inject(journey, provider, days_ago=days_ago)
    walk.recover(journey, nurse)


def load_recalls_demo() -> None:
    nurse = _user("nurse@demo.example.com")
    untreated = db.session.scalars(
        sa.select(Patient)
        .where(Patient.id.not_in(sa.select(m.Journey.patient_id)))
        .order_by(Patient.id)
        .limit(len(TREATED))
    ).all()
    for patient, (therapy, days_ago, email) in zip(untreated, TREATED, strict=True):
        _treat(patient, therapy, days_ago, _user(email), nurse)
    desk = db.session.scalar(sa.select(User).where(User.email == "desk@demo.example.com"))
    rows, _total = recalls.recall_page(clinic_today(), now=utcnow())
    first = next((r for r in rows if r.slot and r.state != "overdue"), None)
    if first is not None:
        services.book(
            patient=first.follow_up.patient,
            provider=first.slot.provider,
            room=first.slot.room,
            kind=first.kind,
            starts_at=first.slot.starts_at,
            by=desk,
            follow_up=first.follow_up,
            notes="Booked from the recall list",
        )
