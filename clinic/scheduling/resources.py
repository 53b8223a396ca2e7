"""Rooms and working hours: the admin's services."""

from __future__ import annotations

from datetime import time

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from clinic.auth.models import User
from clinic.errors import Refused, StaleWrite
from clinic.extensions import db
from clinic.models import audit
from clinic.models.savepoint import unique_or_conflict
from clinic.scheduling.models import Room, RoomKind, WorkingHours, WorkingWeek


def _name_taken(name: str, exclude_id: int | None) -> bool:
    query = sa.select(Room.id).where(sa.func.lower(Room.name) == name.lower())
    if exclude_id is not None:
        query = query.where(Room.id != exclude_id)
    return db.session.scalar(query) is not None


def save_room(room: Room | None, *, name: str, kind: RoomKind, active: bool, by: User) -> Room:
    """Create a room (room=None) or change one; rooms are retired, never deleted."""
    name = name.strip()
    if _name_taken(name, room.id if room else None):
        raise Refused("Another room already has this name.", "name")
    creating = room is None
    room = room or Room()
    with unique_or_conflict("Another room already has this name.", "name"):
        room.name, room.kind, room.active = name, kind, active
        db.session.add(room)
    audit.record(
        "room.created" if creating else "room.updated",
        actor=by,
        obj=room,
        detail=f"{room.name} ({kind.value}){'' if active else ' retired'}",
    )
    return room


def week_version(clinician_id: int) -> int:
    """The version of a clinician's saved week (0 before the editor first saves it)."""
    version = db.session.scalar(
        sa.select(WorkingWeek.version).where(WorkingWeek.clinician_id == clinician_id)
    )
    return version or 0


def _claim_week(clinician_id: int, version: int) -> None:
    """Move the week from `version` to the next one, or refuse if someone saved it first.

    The compare-and-set UPDATE (or the first INSERT) settles simultaneous saves: on PostgreSQL
    the loser waits for the winner's row and then matches nothing (or hits the primary key).
    """
    stale = StaleWrite("Someone else saved these hours after you opened them.")
    if version == 0:
        try:
            with db.session.begin_nested():
                db.session.add(WorkingWeek(clinician_id=clinician_id, version=1))
                db.session.flush()
        except IntegrityError as err:
            raise stale from err
        return
    result = db.session.execute(
        sa.update(WorkingWeek)
        .where(WorkingWeek.clinician_id == clinician_id, WorkingWeek.version == version)
        .values(version=version + 1)
        .execution_options(synchronize_session=False)
    )
    moved = getattr(result, "rowcount", 0)  # an UPDATE's CursorResult
    if moved != 1:
        raise stale


def set_week_hours(
    clinician: User,
    week: dict[int, tuple[time, time] | None],
    *,
    version: int,
    by: User,
) -> None:
    """Replace a clinician's weekly hours: {weekday: (start, end) or None for a day off}.

    `version` is the week's version the form was opened at; a newer one is a StaleWrite.
    """
    for weekday, span in week.items():
        if span is not None and span[0] >= span[1]:
            raise Refused("The end must be after the start.", f"end_{weekday}")
    _claim_week(clinician.id, version)
    existing = {
        h.weekday: h
        for h in db.session.scalars(
            sa.select(WorkingHours).where(WorkingHours.clinician_id == clinician.id)
        )
    }
    for weekday, span in week.items():
        row = existing.get(weekday)
        if span is None:
            if row is not None:
                db.session.delete(row)
        elif row is None:
            db.session.add(
                WorkingHours(
                    clinician_id=clinician.id, weekday=weekday, starts=span[0], ends=span[1]
                )
            )
        else:
            row.starts, row.ends = span
    db.session.flush()
    summary = ", ".join(
        f"{d}:{s[0].strftime('%H:%M')}-{s[1].strftime('%H:%M')}"
        for d, s in sorted(week.items())
        if s
    )
    audit.record("hours.updated", actor=by, obj=clinician, detail=summary or "no hours")
