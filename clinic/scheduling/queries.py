"""Read-only queries for calendars, the day board and patient pages, each a fixed number of
SQL statements whatever the number of appointments (relations loaded eagerly)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from clinic.auth.models import Role, User
from clinic.extensions import db
from clinic.patients.models import Patient, PersonName
from clinic.scheduling.models import Appointment, Room, Status, VisitKind, WorkingHours
from clinic.scheduling.services import CLINICIAN_ROLES
from clinic.timeutil import clinic_day_bounds, clinic_tz


def _eager(query: sa.Select) -> sa.Select:
    return query.options(
        joinedload(Appointment.patient),
        # a clinician has no patient record: not User.patient's join (and 30 columns a row)
        joinedload(Appointment.provider).lazyload(User.patient),
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


def day_summary(day: date, *also: sa.ScalarSelect) -> tuple[dict[Status, int], tuple]:
    """How many of the day's appointments are in each status, and the values of `also`
    (scalar subqueries the same page needs), in one statement and one row."""
    start, end = clinic_day_bounds(day)
    row = db.session.execute(
        sa.select(
            *(sa.func.count().filter(Appointment.status == status) for status in Status),
            *also,
        ).where(Appointment.starts_at >= start, Appointment.starts_at < end)
    ).one()
    return dict(zip(Status, row[: len(Status)], strict=True)), tuple(row[len(Status) :])


@dataclass(slots=True)
class _Visit:
    """A visit's own columns (_VISIT_COLUMNS, in order), first in every light row of visits."""

    id: int
    patient_id: int
    provider_id: int
    room_id: int | None
    kind: VisitKind
    status: Status
    version: int
    starts_at: datetime  # UTC, as stored
    ends_at: datetime


@dataclass(slots=True)
class VisitRow(_Visit, PersonName):
    """One visit as a calendar lists it: plain columns (no ORM object, no relationships) and
    its times turned into the clinic's zone once, here, not again in every template use.
    The fields up to given_name are visit_rows' columns, in order."""

    family_name: str
    given_name: str
    day: date  # the clinic's calendar day
    start_hm: str  # clinic wall-clock HH:MM
    end_hm: str


def _patient_column(column):
    # A correlated lookup per row (an index probe of pk_patient) rather than a join: for a
    # week's few hundred visits PostgreSQL otherwise merge-joins along the patient key,
    # walking every patient up to the highest id booked (8 ms at 100,000 patients, 1 ms so).
    return (
        sa.select(column)
        .where(Patient.id == Appointment.patient_id)
        .correlate(Appointment)
        .scalar_subquery()
    )


# A visit's own columns, first in every light row of visits (the rows take them by position).
_VISIT_COLUMNS = (
    Appointment.id,
    Appointment.patient_id,
    Appointment.provider_id,
    Appointment.room_id,
    Appointment.kind,
    Appointment.status,
    Appointment.version,
    Appointment.starts_at,
    Appointment.ends_at,
)


def visit_rows(
    start: datetime, end: datetime, *, include_cancelled: bool = False
) -> list[VisitRow]:
    """Visits starting in [start, end) in time order, as light rows (one statement)."""
    query = (
        sa.select(
            *_VISIT_COLUMNS,
            _patient_column(Patient.family_name).label("family_name"),
            _patient_column(Patient.given_name).label("given_name"),
        )
        .where(Appointment.starts_at >= start, Appointment.starts_at < end)
        .order_by(Appointment.starts_at, Appointment.id)
    )
    if not include_cancelled:
        query = query.where(Appointment.status != Status.CANCELLED)
    tz = clinic_tz()
    rows = []
    # the columns come in VisitRow's field order and go in unpacked: a Row's lookups by name
    # cost ~1.5 ms for a week's calendar
    for row in db.session.execute(query):
        # starts_at, ends_at: UTC-aware on both databases (UTCDateTime)
        local_start, local_end = row[7].astimezone(tz), row[8].astimezone(tz)
        start_hm = f"{local_start.hour:02d}:{local_start.minute:02d}"
        end_hm = f"{local_end.hour:02d}:{local_end.minute:02d}"
        rows.append(VisitRow(*(*row, local_start.date(), start_hm, end_hm)))
    return rows


def visits_stamp(start: datetime, end: datetime) -> tuple:
    """What the visits starting in [start, end) (cancelled ones left out) and their patients'
    names depend on, in one statement: their count, ids, versions and latest `updated_at`, and
    their patients' versions and latest `updated_at`. A booking, move, cancellation or status
    change, or a patient's record edited, changes it (an update raises a version whatever the
    writer's clock says; a visit leaving the range lowers the count, one entering raises the
    ids' sum)."""
    row = db.session.execute(
        sa.select(
            sa.func.count(),
            sa.func.sum(Appointment.id),
            sa.func.sum(Appointment.version),
            sa.func.max(Appointment.updated_at),
            # a probe per visit, not a join: see _patient_column
            sa.func.sum(_patient_column(Patient.version)),
            sa.func.max(_patient_column(Patient.updated_at)),
        ).where(
            Appointment.starts_at >= start,
            Appointment.starts_at < end,
            Appointment.status != Status.CANCELLED,
        )
    ).one()
    return tuple(row)


@dataclass(slots=True)
class DayRow(_Visit, PersonName):
    """One appointment as the day board and the day calendar show it: plain columns, with the
    patient's, clinician's and room's words (no ORM objects). Fields in day_rows' column order."""

    checked_in_at: datetime | None
    cancel_reason: str | None
    family_name: str
    given_name: str
    mrn: str
    date_of_birth: date
    provider_name: str
    room_name: str | None


# Built once: building the select and its cache key each request cost ~0.4 ms.
_DAY_ROWS = (
    sa.select(
        *_VISIT_COLUMNS,
        Appointment.checked_in_at,
        Appointment.cancel_reason,
        Patient.family_name,
        Patient.given_name,
        Patient.mrn,
        Patient.date_of_birth,
        User.full_name,
        Room.name,
    )
    .join(Patient, Patient.id == Appointment.patient_id)
    .join(User, User.id == Appointment.provider_id)
    .outerjoin(Room, Room.id == Appointment.room_id)
    .where(
        Appointment.starts_at >= sa.bindparam("start"), Appointment.starts_at < sa.bindparam("end")
    )
    .order_by(Appointment.starts_at, Appointment.id)
)


def day_rows(day: date) -> list[DayRow]:
    """The day's appointments (cancelled ones too) in time order, as light rows (one
    statement: a day's few dozen rows probe the patient, clinician and room keys)."""
    start, end = clinic_day_bounds(day)
    return [DayRow(*row) for row in db.session.execute(_DAY_ROWS, {"start": start, "end": end})]


@dataclass(slots=True)
class Shift:
    """A clinician's working hours on one day (clinic wall-clock time)."""

    starts: time
    ends: time


@dataclass(slots=True)
class ClinicianDay:
    """An active clinician as the day calendar heads a column: the name, and the hours worked
    on the day's weekday (None: not working that day)."""

    id: int
    full_name: str
    hours: Shift | None


# Built once, as the day's rows: the clinicians in services.clinicians' order, each with the
# weekday's hours (one row at most: uq_working_hours_clinician_day), in one statement.
_CLINICIANS_ON = (
    sa.select(User.id, User.full_name, WorkingHours.starts, WorkingHours.ends)
    .outerjoin(
        WorkingHours,
        sa.and_(
            WorkingHours.clinician_id == User.id,
            WorkingHours.weekday == sa.bindparam("weekday"),
        ),
    )
    .where(User.role.in_(CLINICIAN_ROLES), User.active.is_(True))
    .order_by(sa.case((User.role == Role.PROVIDER, 0), else_=1), User.full_name, User.id)
)


def clinicians_on(day: date) -> list[ClinicianDay]:
    """Active providers and clinical staff by name, with their hours on this day's weekday."""
    rows = db.session.execute(_CLINICIANS_ON, {"weekday": day.weekday()})
    return [
        ClinicianDay(key, name, None if starts is None else Shift(starts, ends))
        for key, name, starts, ends in rows
    ]
