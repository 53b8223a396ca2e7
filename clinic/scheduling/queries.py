"""Read-only queries for calendars, the day board and patient pages, each a fixed number of
SQL statements whatever the number of appointments (relations loaded eagerly)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from clinic.auth.models import User
from clinic.extensions import db
from clinic.patients.models import Patient
from clinic.scheduling.models import Appointment, Room, Status
from clinic.scheduling.services import CLINICIAN_ROLES
from clinic.timeutil import clinic_day_bounds


def _eager(query: sa.Select) -> sa.Select:
    return query.options(
        joinedload(Appointment.patient),
        joinedload(Appointment.provider),
        joinedload(Appointment.room),
    )


def appointments_between(
    start: datetime,
    end: datetime,
    *,
    provider_id: int | None = None,
    room_id: int | None = None,
    include_cancelled: bool = True,
) -> list[Appointment]:
    """Appointments starting in [start, end), in time order, with patient, provider, room."""
    query = _eager(
        sa.select(Appointment)
        .where(Appointment.starts_at >= start, Appointment.starts_at < end)
        .order_by(Appointment.starts_at, Appointment.id)
    )
    if provider_id is not None:
        query = query.where(Appointment.provider_id == provider_id)
    if room_id is not None:
        query = query.where(Appointment.room_id == room_id)
    if not include_cancelled:
        query = query.where(Appointment.status != Status.CANCELLED)
    return list(db.session.scalars(query).unique())


def appointments_on(day: date, **filters) -> list[Appointment]:
    start, end = clinic_day_bounds(day)
    return appointments_between(start, end, **filters)


def appointments_for_patient(patient: Patient, limit: int = 50) -> list[Appointment]:
    """The patient's appointments, newest first."""
    query = _eager(
        sa.select(Appointment)
        .where(Appointment.patient_id == patient.id)
        .order_by(Appointment.starts_at.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query).unique())


def get_clinician(user_id: int) -> User | None:

    user = db.session.get(User, user_id)
    return user if user is not None and user.role in CLINICIAN_ROLES else None


def get_room(room_id: int) -> Room | None:
    return db.session.get(Room, room_id)


def day_summary(day: date) -> dict[Status, int]:
    """How many of the day's appointments are in each status (one query)."""
    start, end = clinic_day_bounds(day)
    rows = db.session.execute(
        sa.select(Appointment.status, sa.func.count())
        .where(Appointment.starts_at >= start, Appointment.starts_at < end)
        .group_by(Appointment.status)
    ).all()
    counts = dict.fromkeys(Status, 0)
    counts.update({status: count for status, count in rows})
    return counts
