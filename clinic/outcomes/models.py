"""Questionnaire responses: one row per instrument per timepoint, one answer per item."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.extensions import Model
from clinic.models.base import UTCDateTime, VersionedMixin, enum_column, utcnow
from clinic.outcomes.states import OPEN_RESPONSE, ResponseStatus
from clinic.patients.models import Patient

BASELINE = "baseline"


class ResponseState:
    """Where a questionnaire stands, for the full record and its read-only line alike."""

    __slots__ = ()
    status: ResponseStatus
    due_by: date | None
    timepoint: str
    in_window: bool | None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_RESPONSE

    def expired(self, today: date) -> bool:
        """Its window has closed (it is no longer on the patient's to-do list)."""
        return self.due_by is not None and self.due_by < today

    @property
    def late_baseline(self) -> bool:
        return self.timepoint == BASELINE and self.in_window is False


class QuestionnaireResponse(ResponseState, VersionedMixin, Model):
    """A patient's answers to one instrument at one timepoint, with its score once submitted."""

    __tablename__ = "questionnaire_response"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        sa.ForeignKey("patient.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    instrument_code: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    instrument_version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    timepoint: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    # The treatment journey the answers belong to (None for ones assigned outside a journey).
    journey_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("journey.id", ondelete="RESTRICT"), index=True
    )
    # The treatment cycle the answers measure (its baseline, or one of its follow-ups).
    cycle_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("treatment_cycle.id", ondelete="RESTRICT")
    )
    follow_up_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("follow_up.id", ondelete="RESTRICT")
    )
    available_from: Mapped[date] = mapped_column(sa.Date, nullable=False)
    due_by: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[ResponseStatus] = enum_column(
        ResponseStatus, "response_status", nullable=False, default=ResponseStatus.ASSIGNED
    )
    score: Mapped[Decimal | None] = mapped_column(sa.Numeric(6, 1))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    entered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    # True when a staff member entered the answers on the patient's behalf.
    on_behalf: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    # Set on submission: answered inside the set's window (a baseline: before the injection).
    # Answers from outside it are kept but never used as a baseline or a timepoint's figure.
    in_window: Mapped[bool | None] = mapped_column(sa.Boolean)

    patient: Mapped[Patient] = relationship(Patient)
    entered_by = relationship("User", foreign_keys=[entered_by_id], lazy="joined")
    answers: Mapped[list[QuestionnaireAnswer]] = relationship(
        back_populates="response", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (
        sa.CheckConstraint(
            "(status = 'completed') = (completed_at IS NOT NULL AND score IS NOT NULL)",
            name="completed_has_score",
        ),
        sa.CheckConstraint("due_by IS NULL OR due_by >= available_from", name="due_after_open"),
        sa.CheckConstraint(
            "status <> 'completed' OR in_window IS NOT NULL", name="completed_has_window"
        ),
        sa.CheckConstraint(
            "follow_up_id IS NULL OR cycle_id IS NOT NULL", name="follow_up_in_cycle"
        ),
        sa.Index("ix_questionnaire_response_patient_status", "patient_id", "status"),
        # the registry's pivots: answers per follow-up and instrument, baselines per cycle
        sa.Index("ix_questionnaire_response_follow_up_code", "follow_up_id", "instrument_code"),
        sa.Index(
            "ix_questionnaire_response_cycle_timepoint", "cycle_id", "timepoint", "instrument_code"
        ),
    )

    def answer_map(self) -> dict[str, int | None]:
        return {a.item_code: a.value for a in self.answers}


@dataclass(frozen=True, slots=True)
class ResponseLine(ResponseState):
    """A questionnaire as the patient's lists and progress show it: its columns, read only."""

    id: int
    instrument_code: str
    instrument_version: int
    timepoint: str
    cycle_id: int | None
    available_from: date
    due_by: date | None
    status: ResponseStatus
    score: Decimal | None
    completed_at: datetime | None
    in_window: bool | None


LINE_COLUMNS = tuple(getattr(QuestionnaireResponse, f.name) for f in fields(ResponseLine))


class QuestionnaireAnswer(Model):
    """One item's answer; a NULL value means the patient chose to skip a skippable item."""

    __tablename__ = "questionnaire_answer"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(
        sa.ForeignKey("questionnaire_response.id", ondelete="CASCADE"), nullable=False
    )
    item_code: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    value: Mapped[int | None] = mapped_column(sa.SmallInteger)

    response: Mapped[QuestionnaireResponse] = relationship(back_populates="answers")

    __table_args__ = (sa.UniqueConstraint("response_id", "item_code", name="one_answer_per_item"),)
