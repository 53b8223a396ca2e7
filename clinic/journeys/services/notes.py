"""Outcome notes; after sign-off, addenda that keep the original."""

from __future__ import annotations

from clinic.auth.models import User
from clinic.errors import Refused
from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.states import StageStatus
from clinic.models import audit
from clinic.policy import CLINICAL

MAX_NOTE = 10_000


def add_note(stage: m.Stage, body: str, by: User) -> m.StageNote:
    """A note while the stage is open; once signed (or closed) the note is an addendum."""
    if by.role not in CLINICAL:
        raise Refused("Only the clinical team writes notes.")
    body = (body or "").strip()
    if not body:
        raise Refused("Write the note first.", field="body")
    if len(body) > MAX_NOTE:
        raise Refused(f"Keep a note under {MAX_NOTE:,} characters.", field="body")
    addendum = stage.is_locked or (stage.status is StageStatus.COMPLETED and stage.signed_at)
    note = m.StageNote(stage_id=stage.id, author_id=by.id, body=body, is_addendum=bool(addendum))
    db.session.add(note)
    db.session.flush()
    audit.record(
        "stage.addendum" if note.is_addendum else "stage.note",
        actor=by,
        obj=stage,
        patient_id=stage.journey.patient_id,
    )
    return note
