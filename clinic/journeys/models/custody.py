"""Specimens and their chain of custody, checklist ticks, stage notes and follow-ups."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.auth.models import User
from clinic.extensions import Model
from clinic.journeys.models.catalog import ChecklistItem
from clinic.journeys.states import Therapy
from clinic.models.base import TimestampMixin, UTCDateTime, VersionedMixin, enum_column, utcnow


class CustodyStep(enum.Enum):
    LABELLED = "labelled"
    COLLECTED = "collected"
    RECEIVED = "received"
    PROCESSED = "processed"
    RELEASED = "released"
    ADMINISTERED = "administered"
    DISCARDED = "discarded"

    @property
    def label(self) -> str:
        return {
            "labelled": "Labelled at the bedside",
            "collected": "Collected",
            "received": "Received in processing",
            "processed": "Processed",
            "released": "Released for injection",
            "administered": "Administered",
            "discarded": "Discarded",
        }[self.value]


class Specimen(TimestampMixin, Model):
    """A specimen and the product made from it, labelled with a unique ID when collection starts
    (until it is collected, `collected_at` holds when the label was made)."""

    __tablename__ = "specimen"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), nullable=False, unique=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), nullable=False, index=True)
    journey_id: Mapped[int] = mapped_column(sa.ForeignKey("journey.id"), nullable=False, index=True)
    cycle_id: Mapped[int] = mapped_column(
        sa.ForeignKey("treatment_cycle.id"), nullable=False, unique=True
    )
    product_type: Mapped[Therapy] = enum_column(Therapy, "specimen_product", nullable=False)
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    collected_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    custody_state: Mapped[CustodyStep] = enum_column(CustodyStep, "custody_state", nullable=False)

    patient = relationship("Patient")
    collected_by: Mapped[User] = relationship(foreign_keys=[collected_by_id])
    events: Mapped[list[CustodyEvent]] = relationship(
        back_populates="specimen", order_by="CustodyEvent.id"
    )


class CustodyEvent(Model):
    """One hand-off of a specimen: what happened, who did it, when. Never changed."""

    __tablename__ = "custody_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    specimen_id: Mapped[int] = mapped_column(
        sa.ForeignKey("specimen.id"), nullable=False, index=True
    )
    step: Mapped[CustodyStep] = enum_column(CustodyStep, "custody_step", nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    note: Mapped[str | None] = mapped_column(sa.String(300))

    specimen: Mapped[Specimen] = relationship(back_populates="events")
    by: Mapped[User] = relationship()


class ChecklistTick(Model):
    """A checklist item ticked on one stage, with who and when."""

    __tablename__ = "checklist_tick"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stage.id"), nullable=False, index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("checklist_item.id"), nullable=False)
    ticked_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    ticked_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)

    item: Mapped[ChecklistItem] = relationship()
    ticked_by: Mapped[User] = relationship()

    __table_args__ = (sa.UniqueConstraint("stage_id", "item_id", name="once_per_stage"),)


class StageNote(Model):
    """An outcome note, or after sign-off an addendum; the original text is never changed."""

    __tablename__ = "stage_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stage.id"), nullable=False, index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    is_addendum: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)

    author: Mapped[User] = relationship()

    __table_args__ = (sa.CheckConstraint("length(body) > 0", name="body_not_empty"),)


class FollowUpStatus(enum.Enum):
    SCHEDULED = "scheduled"
    DONE = "done"
    MISSED = "missed"
    CANCELLED = "cancelled"


class FollowUp(TimestampMixin, VersionedMixin, Model):
    """A recovery follow-up generated from the therapy's protocol when the injection is signed."""

    __tablename__ = "follow_up"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), nullable=False, index=True)
    journey_id: Mapped[int] = mapped_column(sa.ForeignKey("journey.id"), nullable=False, index=True)
    cycle_id: Mapped[int] = mapped_column(sa.ForeignKey("treatment_cycle.id"), nullable=False)
    protocol_step_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("follow_up_protocol_step.id")
    )
    label: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    due_on: Mapped[date] = mapped_column(sa.Date, nullable=False, index=True)
    window_opens_on: Mapped[date] = mapped_column(sa.Date, nullable=False)
    window_closes_on: Mapped[date] = mapped_column(sa.Date, nullable=False)
    status: Mapped[FollowUpStatus] = enum_column(
        FollowUpStatus, "follow_up_status", nullable=False, default=FollowUpStatus.SCHEDULED
    )
    # The assessment, recorded when the follow-up is done (questionnaires live in outcomes).
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    adverse_infection: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    adverse_pain_flare: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    adverse_swelling: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    adverse_neuro_deficit: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    medication_use: Mapped[str | None] = mapped_column(sa.String(300))
    function_work: Mapped[str | None] = mapped_column(sa.String(300))
    provider_note: Mapped[str | None] = mapped_column(sa.Text)
    plan: Mapped[str | None] = mapped_column(sa.String(16))

    patient = relationship("Patient")
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])

    __table_args__ = (
        sa.CheckConstraint(
            "status <> 'done' OR (completed_at IS NOT NULL AND completed_by_id IS NOT NULL"
            " AND plan IS NOT NULL)",
            name="done_has_who_when_and_plan",
        ),
        sa.CheckConstraint(
            "plan IS NULL OR plan IN ('continue', 'repeat_cycle', 'refer_surgery', 'discharge')",
            name="plan_known",
        ),
        sa.CheckConstraint(
            "window_opens_on <= due_on AND due_on <= window_closes_on", name="due_inside_window"
        ),
        sa.UniqueConstraint("cycle_id", "label", name="cycle_label"),
    )
