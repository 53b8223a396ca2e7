"""Rooms and working hours: the admin's services."""

from __future__ import annotations

from datetime import time

import sqlalchemy as sa

from clinic.auth.models import User
from clinic.errors import Refused
from clinic.extensions import db
from clinic.models import audit
from clinic.scheduling.models import Room, RoomKind, WorkingHours


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
    room.name, room.kind, room.active = name, kind, active
    db.session.add(room)
    db.session.flush()
    audit.record(
        "room.created" if creating else "room.updated",
        actor=by,
        obj=room,
        detail=f"{room.name} ({kind.value}){'' if active else ' retired'}",
    )
    return room


def week_fingerprint(rows) -> str:  # noqa: ANN001 - {weekday: WorkingHours}
    """A short digest of a clinician's saved week, used as the edit form's version."""
    import hashlib

    text = ";".join(
        f"{d}:{r.starts.strftime('%H:%M')}-{r.ends.strftime('%H:%M')}"
        for d, r in sorted(rows.items())
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def set_week_hours(clinician: User, week: dict[int, tuple[time, time] | None], *, by: User) -> None:
    """Replace a clinician's weekly hours: {weekday: (start, end) or None for a day off}."""
    for weekday, span in week.items():
        if span is not None and span[0] >= span[1]:
            raise Refused("The end must be after the start.", f"end_{weekday}")
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
