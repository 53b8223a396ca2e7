"""The append-only audit trail (HIPAA audit controls) and the one helper that writes it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from flask import g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from clinic.extensions import Model, db
from clinic.models.base import UTCDateTime, utcnow

DETAIL_MAX = 255


class AuditEvent(Model):
    """Who did what to which record, when and from where. Never updated, never deleted."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, nullable=False, index=True
    )
    actor_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="RESTRICT"), index=True
    )
    actor_role: Mapped[str | None] = mapped_column(sa.String(20))
    action: Mapped[str] = mapped_column(sa.String(60), nullable=False)
    object_type: Mapped[str | None] = mapped_column(sa.String(40))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    patient_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("patient.id", ondelete="RESTRICT"), index=True
    )
    remote_addr: Mapped[str | None] = mapped_column(sa.String(64))
    detail: Mapped[str | None] = mapped_column(sa.String(DETAIL_MAX))

    actor = db.relationship("User", lazy="joined", foreign_keys=[actor_id])

    __table_args__ = (
        sa.Index("ix_audit_event_object", "object_type", "object_id"),
        # an action's rows in time order (a filtered trail's page), and action prefixes as ranges
        sa.Index("ix_audit_event_action_time", "action", "occurred_at", "id"),
    )


audit_event_patient = sa.Table(
    "audit_event_patient",
    db.metadata,
    sa.Column("audit_event_id", sa.Integer, primary_key=True),
    sa.Column("patient_id", sa.Integer, primary_key=True, index=True),
)
"""Every patient a list page showed, one row each, for the event that recorded the view.

No foreign keys: a week's calendar writes ~320 of these rows per view, and checking two keys
per row was two thirds of their cost in PostgreSQL (~3.5 ms a view at 100,000 patients). The
keys could never fail: each row is written in the same statement as its event (on SQLite, the
same transaction) with the ids of patients the page had just read, and neither side can go
away: audit rows are append-only (triggers, and deploy/postgres/after-migrate.sql grants the
app's role only SELECT and INSERT on both tables) and patients are never deleted (a duplicate
is retired by a merge, which leaves the audit trail as written)."""


def shown_to_or_about(patient_id: int) -> sa.ColumnElement[bool]:
    """Events about this patient, or list views that showed them ("who looked at my record")."""
    listed = sa.select(audit_event_patient.c.audit_event_id).where(
        audit_event_patient.c.patient_id == patient_id
    )
    return sa.or_(AuditEvent.patient_id == patient_id, AuditEvent.id.in_(listed))


def _printable(detail: str | None) -> str | None:
    """The detail as one printable line within its column: whatever a request carried (a NUL, a
    line break, a bidi override in a search filter) is shown as "?" rather than stored."""
    if not detail:
        return None
    cleaned = "".join(c if c.isprintable() else "?" for c in detail)
    return cleaned[:DETAIL_MAX]


class AuditIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete an audit row."""


@event.listens_for(Session, "before_flush")
def _refuse_audit_changes(session: Session, flush_context, instances) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent):
            raise AuditIsAppendOnly("audit events cannot be changed or deleted")


def current_address() -> str | None:
    """The client address of the request being served, if any."""
    if not has_request_context():
        return None
    return getattr(g, "remote_addr", None) or request.remote_addr


def record(
    action: str,
    *,
    actor: Any = None,
    obj: Any = None,
    object_type: str | None = None,
    object_id: object | None = None,
    patient_id: int | None = None,
    detail: str | None = None,
    patients: Iterable[int] | None = None,
) -> int:
    """Write one audit row in the current transaction (the caller's commit makes it durable,
    a rollback takes it away) and return its id.

    `actor` is the acting User (None for the system or an unknown visitor); `obj` is any
    model with an `id`, recorded as its table name (or `__audit_type__`) and id. `patients`
    are the ids a list page showed: one event, one `audit_event_patient` row per patient.

    The row is inserted at once as one statement, not added to the session for its next flush:
    every page view writes one, and the unit of work's bookkeeping cost more than the insert.
    """
    if obj is not None:
        object_type = object_type or getattr(obj, "__audit_type__", obj.__tablename__)
        object_id = object_id if object_id is not None else obj.id
    shown = sorted({int(p) for p in patients or () if p is not None})
    if patients is not None and detail is None:
        detail = f"{len(shown)} patient{'' if len(shown) == 1 else 's'} shown"
    session = db.session()
    if session.autoflush and (session.new or session.dirty or session.deleted):
        session.flush()  # as any query would: a record the row names is stored first
    values = {
        "occurred_at": utcnow(),
        "actor_id": getattr(actor, "id", None),
        "actor_role": getattr(getattr(actor, "role", None), "value", None),
        "action": action,
        "object_type": object_type,
        "object_id": None if object_id is None else str(object_id),
        "patient_id": patient_id,
        "remote_addr": current_address(),
        "detail": _printable(detail),
    }
    if shown and session.get_bind().dialect.name == "postgresql":
        # the event and the patients it showed in one statement (a round trip less a list view)
        return session.execute(
            _INSERT_EVENT_AND_SHOWN, {**values, "patient_ids": shown}
        ).scalar_one()
    event_id = session.execute(_INSERT_EVENT, values).scalar_one()
    if shown:
        _insert_shown(event_id, shown)
    return event_id


_EVENTS = cast(sa.Table, AuditEvent.__table__)
_INSERT_EVENT = (
    sa.insert(_EVENTS)
    .values(
        {
            name: sa.bindparam(name, type_=_EVENTS.c[name].type)
            for name in (
                "occurred_at",
                "actor_id",
                "actor_role",
                "action",
                "object_type",
                "object_id",
                "patient_id",
                "remote_addr",
                "detail",
            )
        }
    )
    .returning(_EVENTS.c.id)
)


_SHOWN_FROM_ARRAY = audit_event_patient.insert().from_select(
    ["audit_event_id", "patient_id"],
    sa.select(
        sa.bindparam("event_id", type_=sa.Integer),
        sa.func.unnest(sa.bindparam("patient_ids", type_=sa.ARRAY(sa.Integer))),
    ),
)


# PostgreSQL: the event and its patients in one statement, the rows of audit_event_patient
# inserted by a data-modifying CTE from the event's id.
_NEW_EVENT = _INSERT_EVENT.cte("new_event")
_INSERT_EVENT_AND_SHOWN = sa.select(_NEW_EVENT.c.id).add_cte(
    audit_event_patient.insert()
    .from_select(
        ["audit_event_id", "patient_id"],
        sa.select(
            _NEW_EVENT.c.id,
            sa.func.unnest(sa.bindparam("patient_ids", type_=sa.ARRAY(sa.Integer))),
        ),
    )
    .cte("new_event_patients")
)


def _insert_shown(event_id: int, shown: list[int]) -> None:
    """One row per patient a list showed. On PostgreSQL one statement with the ids as one array
    (an executemany sent a statement per row: ~330 for a week's calendar); elsewhere an
    executemany, which SQLite runs in-process."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(_SHOWN_FROM_ARRAY, {"event_id": event_id, "patient_ids": shown})
        return
    db.session.execute(
        audit_event_patient.insert(),
        [{"audit_event_id": event_id, "patient_id": p} for p in shown],
    )


def record_read(action: str, actor: Any, patients: Iterable[int], **fields: Any) -> int:
    """One event for a page view that showed these patients (a list counts as a read)."""
    return record(action, actor=actor, patients=list(patients), **fields)
