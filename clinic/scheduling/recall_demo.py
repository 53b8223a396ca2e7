"""Demo recalls: journeys treated 12 and 40 days ago (their follow-ups are due now), on top
of the journeys demo's (treated 20 days ago: day-2 call and 2-week visit overdue), one
follow-up booked from the recall list, and a patient in the procedure room right now (the
day board shows where they are from their journey)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from clinic.auth.models import Role, User
from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys import walkthrough as walk
from clinic.journeys.services import journeys, stages
from clinic.journeys.states import StageKind, StageStatus, Therapy
from clinic.models.base import utcnow
from clinic.patients.models import Patient
from clinic.scheduling import recalls, services
from clinic.scheduling.models import RoomKind, Status, VisitKind
from clinic.scheduling.slots import find_slots
from clinic.timeutil import clinic_day_bounds, clinic_today, to_clinic

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
    _in_procedure_now(desk)


def _in_procedure_now(desk: User) -> None:
    """A journey waiting for its injection: booked this morning, checked in, injection started."""
    processed = sa.select(m.Stage.cycle_id).where(
        m.Stage.kind == StageKind.PROCESSING,
        m.Stage.status.in_((StageStatus.COMPLETED, StageStatus.SIGNED)),
    )
    stage = db.session.scalar(
        sa.select(m.Stage)
        .where(
            m.Stage.kind == StageKind.INJECTION,
            m.Stage.status == StageStatus.PENDING,
            m.Stage.cycle_id.in_(processed),
        )
        .order_by(m.Stage.id)
        .limit(1)
    )
    room = next((r for r in services.active_rooms() if r.kind is RoomKind.PROCEDURE), None)
    if stage is None or room is None:
        return
    journey, now = stage.journey, utcnow()
    day_start = clinic_day_bounds(to_clinic(now).date())[0]
    free = find_slots(
        VisitKind.PROCEDURE,
        providers=[journey.provider]
        + [c for c in services.clinicians() if c.role is Role.PROVIDER and c != journey.provider],
        rooms=[room],
        patient=journey.patient,
        after=day_start,
        length=timedelta(minutes=60),  # the injection part of a same-day procedure
        limit=60,
        days=0,
    )
    started = [slot for slot in free if slot.starts_at <= now]
    if not started:
        return  # too early in the day for anyone to be in the procedure room
    slot = next((s for s in reversed(started) if now < s.ends_at), started[-1])
    appointment = services.book(
        patient=journey.patient,
        provider=slot.provider,
        room=room,
        kind=VisitKind.PROCEDURE,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        by=desk,
        stage=stage,
    )
    services.change_status(appointment, Status.CHECKED_IN, by=desk, now=slot.starts_at)
    services.change_status(appointment, Status.IN_PROGRESS, by=slot.provider)
    stages.start_stage(stage, slot.provider)
