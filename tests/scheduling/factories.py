"""Records for scheduling tests: rooms, working hours, appointments."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from clinic.auth.models import Role
from clinic.extensions import db
from clinic.scheduling.models import Appointment, Room, RoomKind, Status, VisitKind, WorkingHours
from tests.factories import PatientFactory, make_user


def make_room(name: str = "Exam 1", kind: RoomKind = RoomKind.EXAM, active: bool = True) -> Room:
    room = Room(name=name, kind=kind, active=active)
    db.session.add(room)
    db.session.flush()
    return room


def make_provider(
    role: Role = Role.PROVIDER, weekdays=range(7), starts=time(9), ends=time(17), **kw
):
    """A clinician working these weekdays, these hours (clinic time)."""
    user = make_user(role, **kw)
    for day in weekdays:
        db.session.add(WorkingHours(clinician_id=user.id, weekday=day, starts=starts, ends=ends))
    db.session.flush()
    return user


def make_appointment(
    *,
    starts_at: datetime | None = None,
    provider=None,
    room=None,
    patient=None,
    kind: VisitKind = VisitKind.FOLLOW_UP,
    minutes: int | None = None,
    status: Status = Status.BOOKED,
) -> Appointment:
    starts_at = starts_at or datetime(2030, 3, 4, 15, 0, tzinfo=UTC)
    length = timedelta(minutes=minutes) if minutes else kind.default_length
    appointment = Appointment(
        patient=patient or PatientFactory(),
        provider=provider or make_user(Role.PROVIDER),
        room=room,
        kind=kind,
        starts_at=starts_at,
        ends_at=starts_at + length,
        status=status,
        cancel_reason="test" if status is Status.CANCELLED else None,
        checked_in_at=starts_at
        if status in (Status.CHECKED_IN, Status.IN_PROGRESS, Status.COMPLETED)
        else None,
    )
    db.session.add(appointment)
    db.session.flush()
    return appointment
