"""Adverse events as records, and the worries patients raise through the portal."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.extensions import Model
from clinic.models.base import UTCDateTime, VersionedMixin, enum_column, utcnow


class Relatedness(enum.Enum):
    UNRELATED = "unrelated"
    UNLIKELY = "unlikely"
    POSSIBLE = "possible"
    PROBABLE = "probable"
    DEFINITE = "definite"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def related(self) -> bool:
        """Possible or stronger counts as related in reports."""
        return self in (Relatedness.POSSIBLE, Relatedness.PROBABLE, Relatedness.DEFINITE)


class ActionTaken(enum.Enum):
    NONE = "none"
    ADVICE = "advice"
    MEDICINE = "medicine"
    PROCEDURE = "procedure"
    ADMITTED = "admitted"
    TREATMENT_STOPPED = "treatment_stopped"

    @property
    def label(self) -> str:
        return {
            "none": "None needed",
            "advice": "Advice or reassurance",
            "medicine": "Medicine given or changed",
            "procedure": "A procedure (drainage, injection, surgery)",
            "admitted": "Admitted to hospital",
            "treatment_stopped": "Further treatment stopped",
        }[self.value]


class EventOutcome(enum.Enum):
    ONGOING = "ongoing"
    RECOVERING = "recovering"
    RECOVERED = "recovered"
    RECOVERED_WITH_EFFECTS = "recovered_with_effects"
    FATAL = "fatal"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        return {
            "ongoing": "Not recovered yet",
            "recovering": "Recovering",
            "recovered": "Recovered",
            "recovered_with_effects": "Recovered with lasting effects",
            "fatal": "Fatal",
            "unknown": "Not known",
        }[self.value]

    @property
    def ended(self) -> bool:
        return self in (
            EventOutcome.RECOVERED,
            EventOutcome.RECOVERED_WITH_EFFECTS,
            EventOutcome.FATAL,
        )


# ICH E2A: what makes an adverse event serious (column, plain label).
SERIOUS_CRITERIA = (
    ("serious_death", "Resulted in death"),
    ("serious_life_threatening", "Was life-threatening"),
    ("serious_hospital", "Needed a hospital stay, or made one longer"),
    ("serious_disability", "Left lasting disability or incapacity"),
    ("serious_other", "Another important medical event"),
)


class AdverseEvent(VersionedMixin, Model):
    """One adverse event of a patient, coded, graded and linked to the treatment cycle."""

    __tablename__ = "adverse_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), nullable=False, index=True)
    journey_id: Mapped[int] = mapped_column(sa.ForeignKey("journey.id"), nullable=False, index=True)
    cycle_id: Mapped[int | None] = mapped_column(sa.ForeignKey("treatment_cycle.id"), index=True)
    term_code: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    # The term's wording and list when recorded, so a later list keeps old events readable.
    term_label: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    terminology: Mapped[str] = mapped_column(sa.String(60), nullable=False)
    description: Mapped[str | None] = mapped_column(sa.Text)
    onset_on: Mapped[date] = mapped_column(sa.Date, nullable=False)
    resolved_on: Mapped[date | None] = mapped_column(sa.Date)
    grade: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False)
    serious_death: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    serious_life_threatening: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=False
    )
    serious_hospital: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    serious_disability: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    serious_other: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    serious: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    related_procedure: Mapped[Relatedness] = enum_column(
        Relatedness, "related_procedure", nullable=False
    )
    related_product: Mapped[Relatedness] = enum_column(
        Relatedness, "related_product", nullable=False
    )
    action_taken: Mapped[ActionTaken] = enum_column(ActionTaken, "action_taken", nullable=False)
    outcome: Mapped[EventOutcome] = enum_column(EventOutcome, "event_outcome", nullable=False)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    reported_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    patient = relationship("Patient")
    reported_by = relationship("User", foreign_keys=[reported_by_id])
    reviewed_by = relationship("User", foreign_keys=[reviewed_by_id])
    cycle = relationship("Cycle")

    __table_args__ = (
        sa.CheckConstraint("grade BETWEEN 1 AND 5", name="grade_1_to_5"),
        sa.CheckConstraint(
            "serious = (serious_death OR serious_life_threatening OR serious_hospital"
            " OR serious_disability OR serious_other)",
            name="serious_has_criterion",
        ),
        sa.CheckConstraint("(grade = 5) = serious_death", name="grade_5_is_death"),
        sa.CheckConstraint(
            "resolved_on IS NULL OR resolved_on >= onset_on", name="resolved_after_onset"
        ),
        sa.CheckConstraint(
            "outcome NOT IN ('recovered', 'recovered_with_effects', 'fatal')"
            " OR resolved_on IS NOT NULL",
            name="ended_has_date",
        ),
        sa.CheckConstraint(
            "(reviewed_at IS NULL) = (reviewed_by_id IS NULL)", name="reviewer_and_time_together"
        ),
        sa.Index("ix_adverse_event_serious_unreviewed", "serious", "reviewed_at"),
    )

    @property
    def criteria(self) -> list[str]:
        return [label for name, label in SERIOUS_CRITERIA if getattr(self, name)]

    @property
    def awaiting_review(self) -> bool:
        return self.serious and self.reviewed_at is None


class ConcernStatus(enum.Enum):
    OPEN = "open"
    RECORDED = "recorded"  # staff recorded it as an adverse event
    DISMISSED = "dismissed"


class PatientConcern(Model):
    """Something that worries a patient after treatment, sent through the portal for triage."""

    __tablename__ = "patient_concern"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), nullable=False, index=True)
    journey_id: Mapped[int | None] = mapped_column(sa.ForeignKey("journey.id"))
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    started_on: Mapped[date | None] = mapped_column(sa.Date)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    status: Mapped[ConcernStatus] = enum_column(
        ConcernStatus, "concern_status", nullable=False, default=ConcernStatus.OPEN
    )
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    triaged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    dismiss_reason: Mapped[str | None] = mapped_column(sa.String(300))
    adverse_event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("adverse_event.id"))

    patient = relationship("Patient")
    triaged_by = relationship("User", foreign_keys=[triaged_by_id])

    __table_args__ = (
        sa.CheckConstraint("length(body) > 0", name="body_not_empty"),
        sa.CheckConstraint("(status = 'open') = (triaged_at IS NULL)", name="triaged_has_when"),
        sa.CheckConstraint(
            "(status = 'recorded') = (adverse_event_id IS NOT NULL)", name="recorded_has_event"
        ),
        sa.CheckConstraint(
            "(status = 'dismissed') = (dismiss_reason IS NOT NULL)", name="dismissed_has_reason"
        ),
        sa.Index("ix_patient_concern_status", "status"),
    )
