"""Booking and appointment changes. Services flush and audit; the caller commits."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, lazyload

from clinic.auth.models import Role, User
from clinic.errors import Conflict, Refused
from clinic.extensions import db
from clinic.models import audit
from clinic.models.base import utcnow
from clinic.patients.models import Patient
from clinic.policy import can_set_appointment_status
from clinic.scheduling import slots
from clinic.scheduling.board import Visit
from clinic.scheduling.journey_links import check_link, still_open
from clinic.scheduling.models import LIVE_STATUSES, Appointment, Room, Status, VisitKind
from clinic.scheduling.states import can_move, next_actions
from clinic.timeutil import to_clinic

CLINICIAN_ROLES = frozenset({Role.PROVIDER, Role.CLINICAL_STAFF})


class BookingConflict(Conflict):
    """The time is taken: what it clashes with and the next free slots."""

    def __init__(self, clashes: list[Appointment], suggestions: list[slots.Slot]) -> None:
        super().__init__("The time clashes with another appointment.", "start")
        self.clashes = clashes
        self.suggestions = suggestions


def clinicians() -> list[User]:
    """Active providers and clinical staff, who hold appointments, by name."""
    return list(
        db.session.scalars(
            sa.select(User)
            # a clinician has no patient record: not User.patient's join (and 30 columns a row)
            .options(lazyload(User.patient))
            .where(User.role.in_(CLINICIAN_ROLES), User.active.is_(True))
            .order_by(sa.case((User.role == Role.PROVIDER, 0), else_=1), User.full_name)
        )
    )


def active_rooms() -> list[Room]:
    return list(db.session.scalars(sa.select(Room).where(Room.active).order_by(Room.name)))


def _a(label: str, capital: bool = True) -> str:
    """The kind of visit or room with its article, for a sentence: "An evaluation", or
    within one "a procedure room (C-arm)"."""
    word = label[:1].lower() + label[1:]
    article = "an" if word[:1] in ("a", "e", "i", "o", "u") else "a"
    return f"{article.capitalize() if capital else article} {word}"


def find_clashes(
    *,
    provider_id: int,
    room_id: int | None,
    patient_id: int,
    starts_at: datetime,
    ends_at: datetime,
    exclude_id: int | None = None,
) -> list[Appointment]:
    """Live appointments of this provider, room or patient overlapping [starts_at, ends_at)."""
    who = [Appointment.provider_id == provider_id, Appointment.patient_id == patient_id]
    if room_id is not None:
        who.append(Appointment.room_id == room_id)
    query = (
        sa.select(Appointment)
        .options(
            joinedload(Appointment.patient),
            joinedload(Appointment.provider),
            joinedload(Appointment.room),
        )
        .where(
            Appointment.status.in_(LIVE_STATUSES),
            Appointment.starts_at < ends_at,
            Appointment.ends_at > starts_at,
            sa.or_(*who),
        )
        .order_by(Appointment.starts_at)
    )
    if exclude_id is not None:
        query = query.where(Appointment.id != exclude_id)
    return list(db.session.scalars(query).unique())


def _check_rules(
    patient: Patient, provider: User, room: Room | None, kind: VisitKind, starts_at, ends_at
) -> None:
    if provider.role not in CLINICIAN_ROLES or not provider.active:
        raise Refused("Choose an active provider or clinical staff member.", "provider")
    if kind is not VisitKind.PHONE_CHECK and provider.role is not Role.PROVIDER:
        raise Refused(f"{_a(kind.label)} is held by a provider.", "provider")
    _check_room(kind, room)
    if ends_at <= starts_at:
        raise Refused("The visit must end after it starts.", "minutes")
    if ends_at - starts_at > timedelta(hours=8):
        raise Refused("A visit cannot be longer than 8 hours.", "minutes")


def _check_room(kind: VisitKind, room: Room | None) -> None:
    if room is None and kind.needs_room:
        raise Refused(f"{_a(kind.label)} needs a room.", "room")
    if room is not None:
        if not kind.room_kinds:
            raise Refused(f"{_a(kind.label)} does not take a room.", "room")
        if room.kind not in kind.room_kinds:
            wanted = " or ".join(sorted(_a(k.label, capital=False) for k in kind.room_kinds))
            raise Refused(f"{_a(kind.label)} needs {wanted}.", "room")
        if not room.active:
            raise Refused("That room is no longer in use.", "room")


def _is_overlap_error(err: IntegrityError) -> bool:
    text = str(err.orig)
    return "_overlap" in text or "overlaps a live appointment" in text


def _is_follow_up_taken(err: IntegrityError) -> bool:
    text = str(err.orig)
    return "uq_appointment_live_follow_up" in text or "appointment.follow_up_id" in text


def _check_link(patient, kind, follow_up, stage, replacing) -> None:
    if follow_up is None and stage is None:
        return

    check_link(patient, kind, follow_up=follow_up, stage=stage, replacing=replacing)


# People book from now on; a start this long ago is still taken (a walk-in seen at 10:07 is
# booked at 10:05, the five-minute mark before).
PAST_GRACE = timedelta(minutes=15)


def next_start_mark() -> tuple[date, time]:
    """The clinic's date and the next five-minute mark from now (the earliest start a person
    books today, as forms and the week grid offer it)."""
    local = to_clinic(utcnow()).replace(second=0, microsecond=0)
    local += timedelta(minutes=-local.minute % 5)
    return local.date(), local.time()


def _conflict(patient, provider, room, kind, starts_at, ends_at, exclude_id=None, from_now=False):
    clashes = find_clashes(
        provider_id=provider.id,
        room_id=room.id if room else None,
        patient_id=patient.id,
        starts_at=starts_at,
        ends_at=ends_at,
        exclude_id=exclude_id,
    )
    suggestions = slots.find_slots(
        kind,
        providers=[provider],
        rooms=[room] if room else [],
        patient=patient,
        after=max(starts_at, utcnow()) if from_now else starts_at,
        length=ends_at - starts_at,
        limit=5,
    )
    return BookingConflict(clashes, suggestions)


def book(
    *,
    patient: Patient,
    provider: User,
    room: Room | None,
    kind: VisitKind,
    starts_at: datetime,
    ends_at: datetime | None = None,
    notes: str | None = None,
    by: User | None,
    rescheduled_from: Appointment | None = None,
    follow_up=None,
    stage=None,
    from_now: bool = False,
) -> Appointment:
    """A new live appointment, refused with BookingConflict when anyone involved is busy.

    The overlap check here gives the message; the database (exclusion constraints or
    triggers) is what makes it hold under simultaneous requests. `from_now`: a person booking
    (the desk's forms): a time already past is refused, and the free times offered start now.
    """
    ends_at = ends_at or starts_at + kind.default_length
    if from_now and starts_at < utcnow() - PAST_GRACE:
        raise Refused("That time has passed. Choose a time from now on.", "start")
    _check_rules(patient, provider, room, kind, starts_at, ends_at)
    _check_link(patient, kind, follow_up, stage, rescheduled_from)
    exclude = rescheduled_from.id if rescheduled_from else None
    if find_clashes(
        provider_id=provider.id,
        room_id=room.id if room else None,
        patient_id=patient.id,
        starts_at=starts_at,
        ends_at=ends_at,
        exclude_id=exclude,
    ):
        raise _conflict(patient, provider, room, kind, starts_at, ends_at, exclude, from_now)
    appointment = Appointment(
        patient=patient,
        provider=provider,
        room=room,
        kind=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        status=Status.BOOKED,
        notes=(notes or "").strip() or None,
        booked_by_id=getattr(by, "id", None),
        rescheduled_from_id=exclude,
        follow_up_id=follow_up.id if follow_up else None,
        stage_id=stage.id if stage else None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(appointment)
            db.session.flush()
    except IntegrityError as err:
        if _is_follow_up_taken(err):
            raise Refused("That follow-up was booked meanwhile.", "link") from None
        if not _is_overlap_error(err):
            raise
        raise _conflict(
            patient, provider, room, kind, starts_at, ends_at, exclude, from_now
        ) from None
    when = to_clinic(starts_at).strftime("%Y-%m-%d %H:%M")
    audit.record(
        "appointment.rescheduled" if rescheduled_from else "appointment.booked",
        actor=by,
        obj=appointment,
        patient_id=patient.id,
        detail=f"{kind.value} {when} provider {provider.id} room {room.id if room else '-'}"
        + (f" from appointment {rescheduled_from.id}" if rescheduled_from else "")
        + (f" for follow-up {follow_up.id}" if follow_up else "")
        + (f" for stage {stage.id}" if stage else ""),
    )
    return appointment


def change_status(
    appointment: Appointment,
    target: Status,
    *,
    by: User | None,
    reason: str | None = None,
    now: datetime | None = None,
) -> None:
    """Move an appointment along booked → checked in → in progress → completed, or to
    no-show or cancelled (which needs a reason). One method writes the status."""
    now = now or utcnow()
    if not can_move(appointment.status, target):
        raise Refused(
            f"This appointment is {appointment.status.label.lower()}; "
            f"it cannot become {target.label.lower()}."
        )
    reason = (reason or "").strip()
    if target is Status.CANCELLED and not reason:
        raise Refused("Give the reason for cancelling.", "reason")
    if (
        target is Status.CHECKED_IN
        and to_clinic(now).date() != to_clinic(appointment.starts_at).date()
    ):
        raise Refused("Patients are checked in on the day of their appointment.")
    if target is Status.NO_SHOW and now < appointment.starts_at:
        raise Refused("A no-show can be recorded once the appointment time has come.")
    appointment.status = target
    if target is Status.CHECKED_IN:
        appointment.checked_in_at = now
    if target is Status.CANCELLED:
        appointment.cancel_reason = reason[:255]
    db.session.flush()
    audit.record(
        f"appointment.{target.value}",
        actor=by,
        obj=appointment,
        patient_id=appointment.patient_id,
        detail=f"reason: {reason}" if target is Status.CANCELLED else None,
    )


def available_actions(appointment: Visit, user: User, now: datetime | None = None) -> list:
    """The status buttons this user should see now: check-in only on the day, no-show only
    once the appointment time has come (cancel has its own form)."""

    now = now or utcnow()
    actions = []
    for target in next_actions(appointment.status):
        if not can_set_appointment_status(user, target.value):
            continue
        if (
            target is Status.CHECKED_IN
            and to_clinic(now).date() != to_clinic(appointment.starts_at).date()
        ):
            continue
        if target is Status.NO_SHOW and now < appointment.starts_at:
            continue
        actions.append(target)
    return actions


def _links_still_open(original: Appointment) -> dict:
    """The original's journey links that still hold (an ended stage or follow-up is dropped)."""

    return still_open(original)


# A visit under way keeps its time and clinician; its room and notes can still change.
STARTED = frozenset({Status.CHECKED_IN, Status.IN_PROGRESS})


def _same_minute(a: datetime, b: datetime) -> bool:
    return abs(a - b) < timedelta(minutes=1)  # forms give times to the minute


def move_refusal(
    original: Appointment,
    *,
    provider: User | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> str | None:
    """Why this appointment cannot be changed (None: it can). A visit under way (checked in
    or in progress) may change only its room and notes; given the new clinician and times,
    any other change is refused."""
    if original.status in STARTED:
        changed = (
            (provider is not None and provider.id != original.provider_id)
            or (starts_at is not None and not _same_minute(starts_at, original.starts_at))
            or (ends_at is not None and not _same_minute(ends_at, original.ends_at))
        )
        if changed:
            return (
                f"This visit is {original.status.label.lower()}: its time and clinician stay "
                "as they are; only the room and notes can change."
            )
        return None
    if original.status is not Status.BOOKED:
        return "Only a booked appointment can be moved."
    if original.rescheduled_to is not None:
        return "This appointment was already moved."
    return None


def change_room_or_notes(
    appointment: Appointment, *, room: Room | None, notes: str | None, by: User | None
) -> Appointment:
    """A visit's room and notes, changed in place (its time, clinician and status stay);
    refused beside the room when that room is in use then."""
    _check_room(appointment.kind, room)
    if room is not None and room.id != appointment.room_id:
        clashes = find_clashes(
            provider_id=appointment.provider_id,
            room_id=room.id,
            patient_id=appointment.patient_id,
            starts_at=appointment.starts_at,
            ends_at=appointment.ends_at,
            exclude_id=appointment.id,
        )
        if any(c.room_id == room.id for c in clashes):
            raise Refused(ROOM_TAKEN, "room")
    before, notes = appointment.room_id, (notes or "").strip() or None
    notes_changed = notes != appointment.notes
    appointment.room, appointment.notes = room, notes
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as err:  # booked at the same moment (exclusion constraint, trigger)
        if not _is_overlap_error(err):
            raise
        raise Refused(ROOM_TAKEN, "room") from None
    audit.record(
        "appointment.changed",
        actor=by,
        obj=appointment,
        patient_id=appointment.patient_id,
        detail=f"room {before or '-'} to {room.id if room else '-'}"
        + ("; notes changed" if notes_changed else ""),
    )
    return appointment


ROOM_TAKEN = "That room is in use by another visit at this time. Choose another room."


def reschedule(
    original: Appointment,
    *,
    provider: User,
    room: Room | None,
    starts_at: datetime,
    ends_at: datetime,
    notes: str | None,
    by: User | None,
    from_now: bool = False,
) -> Appointment:
    """Cancel the original and book its replacement, linked to it, all or nothing. A visit
    under way is not moved: its room and notes change in place (the original is returned)."""
    why = move_refusal(original, provider=provider, starts_at=starts_at, ends_at=ends_at)
    if why:
        raise Refused(why, "start")
    if original.status in STARTED:
        return change_room_or_notes(original, room=room, notes=notes, by=by)
    with db.session.begin_nested():
        when = to_clinic(starts_at).strftime("%Y-%m-%d %H:%M")
        change_status(original, Status.CANCELLED, by=by, reason=f"Rescheduled to {when}")
        moved = book(
            patient=original.patient,
            provider=provider,
            room=room,
            kind=original.kind,
            starts_at=starts_at,
            ends_at=ends_at,
            notes=notes,
            by=by,
            rescheduled_from=original,
            from_now=from_now,
            **_links_still_open(original),
        )
    db.session.expire(original, ["rescheduled_to"])
    return moved
