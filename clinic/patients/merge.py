"""Merging a duplicate patient record into the survivor.

Everything that refers to the duplicate (every column with a foreign key to patient.id, found
in the metadata so a new table is never forgotten) moves to the survivor in one transaction.
The duplicate is kept, retired and pointing at the survivor; its pages redirect there. The
audit trail's rows stay as written (they are history, and append-only); the merge itself is
audited and kept in patient_merge with what moved.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa

from clinic.auth.models import User
from clinic.errors import Refused, StaleWrite
from clinic.extensions import db
from clinic.models import audit
from clinic.models.base import utcnow
from clinic.patients.models import Patient, PatientMerge
from clinic.scheduling.models import LIVE_STATUSES, Appointment

if TYPE_CHECKING:
    from collections.abc import Sequence

# Tables whose patient references are not moved: the records themselves, the merge log, the
# audit trail (append-only history of what happened to each record), and derived rows that are
# recomputed from the moved records (the registry's, through AFTER_MOVE).
NOT_MOVED = frozenset(
    {
        "patient",
        "patient_merge",
        "audit_event",
        "audit_event_patient",
        "registry_cycle",
        "registry_point",
    }
)

# Plain words for the tables that move, for the preview and the audit.
TABLE_WORDS = {
    "appointment": "appointments",
    "journey": "treatment journeys",
    "follow_up": "follow-ups",
    "questionnaire_response": "questionnaire answers",
    "user_account": "portal account",
    "portal_link": "portal sign-up links",
    "patient_allergy": "allergies",
    "patient_medicine": "blood thinners and NSAIDs",
    "specimen": "specimens",
    "contraindication_review": "contraindication reviews",
    "screening": "day-of-procedure screens",
    "instruction_receipt": "instructions sent",
    "adverse_event": "adverse events",
    "patient_concern": "concerns raised",
    "break_glass": "emergency access grants",
    "patient_message": "messages sent",
    "message_thread": "secure message threads",
    "message_preference": "message consent",
}

# Tables keyed by the patient (one row each), merged by their own wing instead of moved:
# table name -> merge(survivor_id, retired_id), registered by that wing (higher wings react to
# lower ones through hooks, never imports).
ONE_ROW_MERGERS: dict[str, Callable[[int, int], None]] = {}
# Told after rows of a table moved to the survivor by a bulk update: (table name, row ids).
AFTER_MOVE: list[Callable[[str, list[int]], None]] = []


def patient_references() -> list[sa.Column]:
    """Every column (outside NOT_MOVED) that holds a patient record's id."""
    columns = []
    for table in db.metadata.sorted_tables:
        if table.name in NOT_MOVED:
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name == "patient" and fk.column.name == "id":
                columns.append(fk.parent)
    return columns


def _words(table: str) -> str:
    return TABLE_WORDS.get(table, table.replace("_", " "))


@dataclass
class Move:
    table: str
    column: str
    ids: list[int]

    @property
    def words(self) -> str:
        return _words(self.table)


@dataclass
class MergePlan:
    """What a merge of `retired` into `survivor` would do, and what stands in its way."""

    survivor: Patient
    retired: Patient
    moves: list[Move] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    both_portal: bool = False
    clashes: list[tuple[Appointment, Appointment]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(len(m.ids) for m in self.moves)


def _row_ids(column: sa.Column, patient_id: int) -> list[int]:
    table = column.table
    key = next(iter(table.primary_key.columns))
    return list(db.session.scalars(sa.select(key).where(column == patient_id).order_by(key)))


def _portal_account(patient: Patient) -> User | None:
    return db.session.scalar(sa.select(User).where(User.patient_id == patient.id))


def _overlapping_visits(a: Patient, b: Patient) -> list[tuple[Appointment, Appointment]]:
    """Live appointments of the two records that overlap (one person cannot attend both)."""
    other = sa.orm.aliased(Appointment)
    rows = db.session.execute(
        sa.select(Appointment, other)
        .join(
            other,
            sa.and_(
                other.patient_id == b.id,
                other.status.in_(LIVE_STATUSES),
                other.starts_at < Appointment.ends_at,
                Appointment.starts_at < other.ends_at,
            ),
        )
        .where(Appointment.patient_id == a.id, Appointment.status.in_(LIVE_STATUSES))
    ).all()
    return [(x, y) for x, y in rows]


def plan(survivor: Patient, retired: Patient) -> MergePlan:
    """The preview: what moves from `retired` to `survivor`, and any reason to refuse."""
    result = MergePlan(survivor=survivor, retired=retired)
    if survivor.id == retired.id:
        result.problems.append("Choose two different records.")
        return result
    for patient in (survivor, retired):
        if patient.merged_into_id is not None:
            result.problems.append(
                f"{patient.display_name} ({patient.mrn}) was already merged into another record."
            )
    for column in patient_references():
        ids = _row_ids(column, retired.id)
        if ids:
            result.moves.append(Move(column.table.name, column.name, ids))
    result.both_portal = (
        _portal_account(survivor) is not None and _portal_account(retired) is not None
    )
    result.clashes = _overlapping_visits(survivor, retired)
    if result.clashes:
        result.problems.append(
            "Both records have a visit booked at the same time; cancel or move one first."
        )
    return result


def _snapshot(patient: Patient) -> str:
    return json.dumps(
        {
            "mrn": patient.mrn,
            "name": patient.display_name,
            "date_of_birth": patient.date_of_birth.isoformat(),
            "phone": patient.phone,
            "email": patient.email,
        }
    )


def merge(
    survivor: Patient,
    retired: Patient,
    *,
    by: User,
    reason: str,
    survivor_version: int,
    retired_version: int,
    close_retired_portal: bool = False,
) -> PatientMerge:
    """Move everything of `retired` to `survivor` and retire it; all or nothing.

    Refused when either record changed since the preview (the versions), when both have a
    portal account and the duplicate's is not to be closed, or when the plan finds a problem.
    """
    if survivor.version != survivor_version or retired.version != retired_version:
        raise StaleWrite()
    checked = plan(survivor, retired)
    if checked.problems:
        raise Refused(checked.problems[0], "survivor")
    if not (reason or "").strip():
        raise Refused("Say why these are the same person.", "reason")
    retired_account = _portal_account(retired)
    if checked.both_portal:
        if not close_retired_portal or retired_account is None:
            raise Refused(
                "Both records have a portal account. Tick the box to close the duplicate's "
                "account (the survivor's account is kept), or merge the other way round.",
                "close_retired_portal",
            )
        retired_account.active = False
        retired_account.session_version += 1
    db.session.flush()
    moved: dict[str, list[int]] = {}
    for move in checked.moves:
        if move.table == "user_account" and checked.both_portal:
            continue  # the closed account stays with the retired record
        if move.table in ONE_ROW_MERGERS:
            ONE_ROW_MERGERS[move.table](survivor.id, retired.id)
            moved.setdefault(move.table, []).extend(move.ids)
            continue
        table = db.metadata.tables[move.table]
        values: dict[str, object] = {move.column: survivor.id}
        if "version" in table.c:
            values["version"] = table.c.version + 1  # open forms on moved rows become stale
        db.session.execute(
            sa.update(table).where(table.c[move.column] == retired.id).values(**values)
        )
        for hook in AFTER_MOVE:
            hook(move.table, move.ids)
        moved.setdefault(move.table, []).extend(move.ids)
    now = utcnow()
    retired.merged_into_id = survivor.id
    retired.merged_at = now
    survivor.updated_at = now  # bumps its version too: a second preview of it is stale
    record = PatientMerge(
        survivor_id=survivor.id,
        retired_id=retired.id,
        merged_by_id=by.id,
        merged_at=now,
        reason=reason.strip(),
        moved=json.dumps(moved, sort_keys=True),
        retired_snapshot=_snapshot(retired),
    )
    db.session.add(record)
    db.session.flush()
    summary = ", ".join(f"{_words(t)} {len(ids)}" for t, ids in sorted(moved.items())) or "nothing"
    detail = f"merged {retired.mrn} into {survivor.mrn}; moved: {summary}"
    if checked.both_portal:
        detail += "; the duplicate's portal account was closed"
    audit.record("patient.merged", actor=by, obj=record, patient_id=survivor.id, detail=detail)
    audit.record("patient.retired", actor=by, obj=retired, patient_id=retired.id, detail=detail)
    db.session.expire_all()
    return record


def moved_counts(record: PatientMerge) -> Sequence[tuple[str, int]]:
    """A past merge's moves as (plain words, how many)."""
    data = json.loads(record.moved)
    return [(_words(table), len(ids)) for table, ids in sorted(data.items())]


def snapshot(record: PatientMerge) -> dict:
    return json.loads(record.retired_snapshot)
