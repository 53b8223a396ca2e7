"""Rooms, clinicians' working hours and appointments."""

from __future__ import annotations

import enum
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.visitors import InternalTraversal

from clinic.auth.models import User
from clinic.extensions import Model
from clinic.models.base import TimestampMixin, UTCDateTime, VersionedMixin, enum_column
from clinic.patients.models import Patient


class RoomKind(enum.Enum):
    EXAM = "exam"
    PROCEDURE = "procedure"
    ULTRASOUND = "ultrasound"

    @property
    def label(self) -> str:
        return {
            "exam": "Exam room",
            "procedure": "Procedure room (C-arm)",
            "ultrasound": "Ultrasound room",
        }[self.value]


class Room(TimestampMixin, VersionedMixin, Model):
    """A bookable room. Rooms are retired (inactive), never deleted."""

    __tablename__ = "room"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True, nullable=False)
    kind: Mapped[RoomKind] = enum_column(RoomKind, "room_kind", nullable=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)

    def __str__(self) -> str:
        return self.name


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class WorkingHours(Model):
    """When a clinician sees patients on one weekday (clinic wall-clock time)."""

    __tablename__ = "working_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="RESTRICT"), nullable=False
    )
    weekday: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False)  # 0 = Monday
    starts: Mapped[time] = mapped_column(sa.Time, nullable=False)
    ends: Mapped[time] = mapped_column(sa.Time, nullable=False)

    clinician: Mapped[User] = relationship(User)

    __table_args__ = (
        sa.UniqueConstraint("clinician_id", "weekday", name="uq_working_hours_clinician_day"),
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        sa.CheckConstraint("starts < ends", name="starts_before_ends"),
    )


class WorkingWeek(Model):
    """The version of a clinician's saved week. Every save of the hours editor moves it on, so
    two saves from the same version cannot both win; no row yet means version 0."""

    __tablename__ = "working_week"

    clinician_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="RESTRICT"), primary_key=True
    )
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)

    __table_args__ = (sa.CheckConstraint("version > 0", name="version_positive"),)


class VisitKind(enum.Enum):
    EVALUATION = "evaluation"
    PROCEDURE = "procedure"
    FOLLOW_UP = "follow_up"
    PHONE_CHECK = "phone_check"

    @property
    def label(self) -> str:
        return VISIT_RULES[self].label

    @property
    def default_length(self) -> timedelta:
        return timedelta(minutes=VISIT_RULES[self].minutes)

    @property
    def room_kinds(self) -> frozenset[RoomKind]:
        return VISIT_RULES[self].room_kinds

    @property
    def needs_room(self) -> bool:
        return VISIT_RULES[self].needs_room


class VisitRule:
    def __init__(self, label: str, minutes: int, room_kinds: tuple, needs_room: bool) -> None:
        self.label, self.minutes = label, minutes
        self.room_kinds, self.needs_room = frozenset(room_kinds), needs_room


VISIT_RULES = {
    VisitKind.EVALUATION: VisitRule("Evaluation", 60, (RoomKind.EXAM, RoomKind.ULTRASOUND), True),
    VisitKind.PROCEDURE: VisitRule("Procedure", 120, (RoomKind.PROCEDURE,), True),
    # A follow-up may be a video visit (no room); a phone check never takes a room.
    VisitKind.FOLLOW_UP: VisitRule("Follow-up", 30, (RoomKind.EXAM, RoomKind.ULTRASOUND), False),
    VisitKind.PHONE_CHECK: VisitRule("Phone check", 10, (), False),
}


class Status(enum.Enum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize().replace("No show", "No-show")

    @property
    def is_live(self) -> bool:
        return self in LIVE_STATUSES


LIVE_STATUSES = frozenset({Status.BOOKED, Status.CHECKED_IN, Status.IN_PROGRESS, Status.COMPLETED})
LIVE_SQL = "status IN ('booked', 'checked_in', 'in_progress', 'completed')"


def _no_overlap(column: str) -> postgresql.ExcludeConstraint:
    """PostgreSQL: no two live appointments of one provider / room / patient overlap."""
    return postgresql.ExcludeConstraint(
        (sa.column(column), "="),
        (sa.func.tstzrange(sa.column("starts_at"), sa.column("ends_at"), "[)"), "&&"),
        name=f"ex_appointment_{column}_overlap",
        using="gist",
        where=sa.text(LIVE_SQL),
    ).ddl_if(dialect="postgresql")


class VisitOverlaps(sa.sql.expression.ColumnElement[bool]):
    """An appointment's [starts_at, ends_at) overlaps [start, end). On PostgreSQL it is a range
    overlap (`&&`), which the GiST index of the live-overlap exclusions serves with a live
    status and a provider, room or patient: `starts_at < end AND ends_at > start` read every
    earlier appointment of that provider through the (provider, starts_at) index, a year of
    them for a bench clinician."""

    inherit_cache = True
    type = sa.Boolean()
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy's own class attribute)
        ("start", InternalTraversal.dp_clauseelement),
        ("end", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, start: datetime | sa.ColumnElement, end: datetime | sa.ColumnElement):
        self.start, self.end = (
            bound if isinstance(bound, sa.ColumnElement) else sa.literal(bound, UTCDateTime())
            for bound in (start, end)
        )


@compiles(VisitOverlaps)
def _overlaps_default(element: VisitOverlaps, compiler, **kw) -> str:
    table = Appointment.__table__.c
    return compiler.process(
        sa.and_(table.starts_at < element.end, table.ends_at > element.start), **kw
    )


@compiles(VisitOverlaps, "postgresql")
def _overlaps_postgresql(element: VisitOverlaps, compiler, **kw) -> str:
    table = Appointment.__table__.c
    half_open: sa.ColumnElement[str] = sa.literal_column("'[)'")
    visit = sa.func.tstzrange(table.starts_at, table.ends_at, half_open)
    period = sa.func.tstzrange(element.start, element.end, half_open)
    return compiler.process(visit.op("&&")(period), **kw)


class Appointment(TimestampMixin, VersionedMixin, Model):
    """One booked visit: a patient, a clinician, maybe a room, a time and a status."""

    __tablename__ = "appointment"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        sa.ForeignKey("patient.id", ondelete="RESTRICT"), nullable=False
    )
    provider_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="RESTRICT"), nullable=False
    )
    room_id: Mapped[int | None] = mapped_column(sa.ForeignKey("room.id", ondelete="RESTRICT"))
    kind: Mapped[VisitKind] = enum_column(VisitKind, "visit_kind", nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    status: Mapped[Status] = enum_column(
        Status, "appointment_status", nullable=False, default=Status.BOOKED
    )
    notes: Mapped[str | None] = mapped_column(sa.Text)
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(255))
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rescheduled_from_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("appointment.id", ondelete="RESTRICT"), unique=True
    )
    booked_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    # What the visit is for in the patient's clinical journey (both optional).
    follow_up_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("follow_up.id", ondelete="RESTRICT")
    )
    stage_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("stage.id", ondelete="RESTRICT"), index=True
    )

    patient: Mapped[Patient] = relationship(Patient)
    provider: Mapped[User] = relationship(User, foreign_keys=[provider_id])
    room: Mapped[Room | None] = relationship(Room)
    rescheduled_from: Mapped[Appointment | None] = relationship(
        "Appointment", remote_side=[id], back_populates="rescheduled_to"
    )
    rescheduled_to: Mapped[Appointment | None] = relationship(
        "Appointment", back_populates="rescheduled_from", uselist=False
    )
    follow_up = relationship("FollowUp")
    stage = relationship("Stage")

    __table_args__ = (
        # A patient's visits in time order (the portal's next visits); without it PostgreSQL
        # took the patient's overlap index, a GiST, for an equality: 31 pages, not 3.
        sa.Index("ix_appointment_patient_time", "patient_id", "starts_at"),
        sa.Index("ix_appointment_provider_time", "provider_id", "starts_at"),
        sa.Index("ix_appointment_room_time", "room_id", "starts_at"),
        sa.Index("ix_appointment_starts_at", "starts_at"),
        sa.Index("ix_appointment_updated_at", "updated_at"),  # recalls.count_due's stamp
        # A follow-up is booked at most once at a time: a second live booking is refused.
        sa.Index(
            "uq_appointment_live_follow_up",
            "follow_up_id",
            unique=True,
            sqlite_where=sa.text(f"follow_up_id IS NOT NULL AND {LIVE_SQL}"),
            postgresql_where=sa.text(f"follow_up_id IS NOT NULL AND {LIVE_SQL}"),
        ),
        sa.CheckConstraint("starts_at < ends_at", name="starts_before_ends"),
        sa.CheckConstraint(
            "(status = 'cancelled' AND cancel_reason IS NOT NULL)"
            " OR (status <> 'cancelled' AND cancel_reason IS NULL)",
            name="cancel_reason_when_cancelled",
        ),
        sa.CheckConstraint(
            "checked_in_at IS NOT NULL OR status IN ('booked', 'no_show', 'cancelled')",
            name="checked_in_before_visit",
        ),
        _no_overlap("provider_id"),
        _no_overlap("room_id"),
        _no_overlap("patient_id"),
    )

    @property
    def length_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES


class CalendarFeed(TimestampMixin, Model):
    """A clinician's calendar subscription: only the SHA-256 of its secret token is kept.
    No token (None) means the feed is switched off."""

    __tablename__ = "calendar_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinician_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="RESTRICT"), unique=True, nullable=False
    )
    token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # The link stops working after this (None: it works until replaced or switched off).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
