"""Specimens and their chain of custody, checklist ticks, stage notes and follow-ups."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.auth.models import User
from clinic.extensions import Model
from clinic.journeys import codes
from clinic.journeys.models.catalog import ChecklistItem
from clinic.journeys.states import FollowUpStatus, Therapy
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


class Labelled(enum.Enum):
    """An enum whose members carry plain-English labels in LABELS."""

    @property
    def label(self) -> str:
        return LABELS[self.value]


class PainMedicine(Labelled):
    NONE = "none"
    NON_OPIOID = "non_opioid"
    OPIOID = "opioid"


class WorkStatus(Labelled):
    FULL = "full_duty"
    MODIFIED = "modified_duty"
    OFF_FOR_PAIN = "off_for_pain"
    OFF_OTHER = "off_other"
    RETIRED = "retired"
    NOT_EMPLOYED = "not_employed"


class LaterProcedure(Labelled):
    NONE = "none"
    INJECTION = "injection"
    SURGERY = "surgery"


class LossReason(Labelled):
    UNREACHABLE = "unreachable"
    MOVED = "moved"
    DECLINED = "declined"
    WITHDREW = "withdrew"
    CARE_ELSEWHERE = "care_elsewhere"
    TOO_UNWELL = "too_unwell"
    DIED = "died"
    OTHER = "other"
    NOT_RECORDED = "not_recorded"  # missed before reasons were asked for


LABELS = {
    "none": "None",
    "non_opioid": "Non-opioid pain medicine only",
    "opioid": "Opioid pain medicine",
    "full_duty": "Working, usual duties",
    "modified_duty": "Working, lighter or fewer duties",
    "off_for_pain": "Off work because of the back or neck",
    "off_other": "Off work for another reason",
    "retired": "Retired",
    "not_employed": "Not in paid work",
    "injection": "Another injection at the treated level",
    "surgery": "Surgery at the treated level",
    "unreachable": "Could not be reached",
    "moved": "Moved away",
    "declined": "Declined the visit",
    "withdrew": "Withdrew from follow-up",
    "care_elsewhere": "Now cared for elsewhere",
    "too_unwell": "Too unwell to attend",
    "died": "Died",
    "other": "Other reason",
    "not_recorded": "Not recorded",
}


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
    # Free text from before the structured facts below; kept so older visits stay readable.
    medication_use: Mapped[str | None] = mapped_column(sa.String(300))
    function_work: Mapped[str | None] = mapped_column(sa.String(300))
    pain_medicine: Mapped[PainMedicine | None] = enum_column(PainMedicine, "pain_medicine")
    # Daily opioid dose in oral morphine milligram equivalents.
    opioid_mme_per_day: Mapped[Decimal | None] = mapped_column(sa.Numeric(6, 1))
    work_status: Mapped[WorkStatus | None] = enum_column(WorkStatus, "work_status")
    later_procedure: Mapped[LaterProcedure | None] = enum_column(LaterProcedure, "later_procedure")
    later_procedure_on: Mapped[date | None] = mapped_column(sa.Date)
    loss_reason: Mapped[LossReason | None] = enum_column(LossReason, "loss_reason")
    loss_detail: Mapped[str | None] = mapped_column(sa.String(300))
    provider_note: Mapped[str | None] = mapped_column(sa.Text)
    plan: Mapped[str | None] = mapped_column(sa.String(16))

    patient = relationship("Patient")
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])

    __table_args__ = (
        sa.Index("ix_follow_up_updated_at", "updated_at"),  # recalls.count_due's stamp
        sa.CheckConstraint(
            "status <> 'done' OR (completed_at IS NOT NULL AND completed_by_id IS NOT NULL"
            " AND plan IS NOT NULL)",
            name="done_has_who_when_and_plan",
        ),
        codes.check("plan", codes.FollowUpPlan, "plan_known"),
        sa.CheckConstraint(
            "window_opens_on <= due_on AND due_on <= window_closes_on", name="due_inside_window"
        ),
        sa.UniqueConstraint("cycle_id", "label", name="cycle_label"),
        # unbooked follow-ups by window (front-desk counts, recall list): scheduled ones only
        sa.Index(
            "ix_follow_up_scheduled_window",
            "window_opens_on",
            "window_closes_on",
            "journey_id",
            postgresql_include=["id"],  # the due count reads it index-only
            postgresql_where=sa.text("status = 'scheduled'"),
            sqlite_where=sa.text("status = 'scheduled'"),
        ),
        # the recall list walks scheduled follow-ups in due order and stops after a page
        sa.Index(
            "ix_follow_up_scheduled_due",
            "due_on",
            "id",
            postgresql_include=["journey_id", "window_opens_on", "window_closes_on"],
            postgresql_where=sa.text("status = 'scheduled'"),
            sqlite_where=sa.text("status = 'scheduled'"),
        ),
        sa.CheckConstraint(
            "(pain_medicine IS NOT NULL AND pain_medicine = 'opioid')"
            " = (opioid_mme_per_day IS NOT NULL)",
            name="opioid_has_dose",
        ),
        sa.CheckConstraint(
            "opioid_mme_per_day IS NULL OR (opioid_mme_per_day > 0 AND opioid_mme_per_day <= 2000)",
            name="opioid_dose_range",
        ),
        sa.CheckConstraint(
            "later_procedure_on IS NULL OR later_procedure IN ('injection', 'surgery')",
            name="later_procedure_date_with_procedure",
        ),
        sa.CheckConstraint("(status = 'missed') = (loss_reason IS NOT NULL)", name="missed_reason"),
    )
