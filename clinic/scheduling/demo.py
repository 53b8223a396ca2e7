"""Demo scheduling data: rooms, working hours and two weeks of bookings around today."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from clinic.auth.models import Role, User
from clinic.errors import Refused
from clinic.extensions import db
from clinic.patients.models import ContactMethod, Patient, Sex
from clinic.patients.services import register_patient
from clinic.scheduling import services
from clinic.scheduling.models import Room, RoomKind, Status, VisitKind, WorkingHours
from clinic.timeutil import clinic_today, clinic_tz

ROOMS = (
    ("Exam 1", RoomKind.EXAM),
    ("Exam 2", RoomKind.EXAM),
    ("Procedure suite (C-arm)", RoomKind.PROCEDURE),
    ("Ultrasound", RoomKind.ULTRASOUND),
)
GIVEN = (
    "Maria",
    "James",
    "Aisha",
    "Robert",
    "Linda",
    "Kenji",
    "Fatima",
    "Daniel",
    "Olga",
    "Samuel",
    "Hannah",
    "Luis",
    "Nadia",
    "Peter",
    "Chloe",
    "Marcus",
    "Ingrid",
    "Tariq",
)
FAMILY = (
    "Alvarez",
    "Brennan",
    "Diallo",
    "Foster",
    "Garcia",
    "Hoffman",
    "Ito",
    "Jensen",
    "Kowalski",
    "Moreau",
    "Nguyen",
    "O'Neill",
    "Petrov",
    "Quinn",
    "Rossi",
    "Silva",
    "Thompson",
    "Yilmaz",
)
STREETS = ("Beacon St", "Commonwealth Ave", "Tremont St", "Harvard Ave", "Centre St")


def _demo_patients(rng: random.Random) -> list[Patient]:
    patients = []
    for index, (given, family) in enumerate(zip(GIVEN, FAMILY, strict=True)):
        patients.append(
            register_patient(
                given_name=given,
                family_name=family,
                date_of_birth=date(
                    1950 + rng.randrange(40), rng.randrange(1, 13), rng.randrange(1, 28)
                ),
                sex=Sex.FEMALE if index % 2 else Sex.MALE,
                phone=f"+1 617 555 {2000 + index:04d}",
                email=f"{given.lower()}.{family.lower().replace(chr(39), '')}@example.com",
                preferred_contact=(ContactMethod.PHONE, ContactMethod.TEXT, ContactMethod.EMAIL)[
                    index % 3
                ],
                address_line1=f"{10 + index * 7} {STREETS[index % len(STREETS)]}",
                city="Boston",
                region="MA",
                postal_code=f"02{115 + index:03d}",
                emergency_name=f"{GIVEN[(index + 5) % len(GIVEN)]} {family}",
                emergency_relationship=("spouse", "daughter", "son", "partner")[index % 4],
                emergency_phone=f"+1 617 555 {3000 + index:04d}",
            )
        )
    return patients


def _hours(people: list[User]) -> None:
    for person in people:
        for weekday in range(5):
            starts, ends = (time(8), time(16)) if person.id % 2 else (time(9), time(17))
            db.session.add(
                WorkingHours(clinician_id=person.id, weekday=weekday, starts=starts, ends=ends)
            )
    db.session.flush()


def _book_day(day, rng, patients, providers, nurses, rooms, now):
    tz = clinic_tz()
    plans = []
    for provider in providers:
        moment = datetime.combine(day, time(9), tz)
        while moment.hour < 16:
            kind = rng.choice(
                (
                    VisitKind.EVALUATION,
                    VisitKind.FOLLOW_UP,
                    VisitKind.FOLLOW_UP,
                    VisitKind.PROCEDURE,
                )
            )
            plans.append((moment, provider, kind))
            moment += kind.default_length + timedelta(minutes=rng.choice((0, 15, 30, 60)))
    for nurse in nurses:
        for hour in (10, 14):
            plans.append((datetime.combine(day, time(hour), tz), nurse, VisitKind.PHONE_CHECK))
    for local, clinician, kind in plans:
        room = (
            next((r for r in rooms if r.kind in kind.room_kinds), None) if kind.needs_room else None
        )
        if room is not None and kind is not VisitKind.PROCEDURE:
            room = rng.choice([r for r in rooms if r.kind in kind.room_kinds])
        try:
            appt = services.book(
                patient=rng.choice(patients),
                provider=clinician,
                room=room,
                kind=kind,
                starts_at=local.astimezone(UTC),
                by=None,
            )
        except (services.BookingConflict, Refused):
            continue
        _advance(appt, rng, now)


def _advance(appt, rng, now) -> None:
    """Past visits mostly completed, some no-shows or cancellations; today's in motion."""
    if appt.starts_at > now:
        if rng.random() < 0.05:
            services.change_status(
                appt, Status.CANCELLED, by=None, reason="Patient asked to rebook"
            )
        return
    roll = rng.random()
    if roll < 0.06:
        services.change_status(appt, Status.NO_SHOW, by=None, now=now)
        return
    if roll < 0.1:
        services.change_status(appt, Status.CANCELLED, by=None, reason="Unwell, will call back")
        return
    appt.status, appt.checked_in_at = Status.CHECKED_IN, appt.starts_at - timedelta(minutes=10)
    if appt.ends_at <= now:
        appt.status = Status.COMPLETED
    elif roll < 0.7:
        appt.status = Status.IN_PROGRESS
    db.session.flush()


def load_scheduling_demo() -> None:
    """Rooms, hours for every clinician and bookings from a week ago to a week ahead."""
    rng = random.Random(47)
    rooms = [Room(name=name, kind=kind, active=True) for name, kind in ROOMS]
    db.session.add_all(rooms)
    clinicians = services.clinicians()
    _hours(clinicians)
    patients = list(db.session.scalars(sa.select(Patient))) + _demo_patients(rng)
    providers = [c for c in clinicians if c.role is Role.PROVIDER]
    nurses = [c for c in clinicians if c.role is Role.CLINICAL_STAFF]
    today, now = clinic_today(), datetime.now(UTC)
    for offset in range(-7, 8):
        day = today + timedelta(days=offset)
        if day.weekday() < 5:
            _book_day(day, rng, patients, providers, nurses, rooms, now)
