"""Procedure-day screening: washout rules by procedure risk, the day-of screen of each cycle,
and a provider's review of absolute contraindications found in an earlier journey."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.auth.models import User
from clinic.extensions import Model
from clinic.journeys.bounds import check_constraints
from clinic.models.base import TimestampMixin, UTCDateTime, VersionedMixin, enum_column
from clinic.patients.models import AntithromboticDrug


class ProcedureRisk(enum.Enum):
    """Bleeding-risk grade of a spine procedure (ASRA-ESRA 2018)."""

    LOW = "low"
    INTERMEDIATE = "intermediate"
    HIGH = "high"

    @property
    def label(self) -> str:
        return f"{self.value} risk"


class WashoutRule(TimestampMixin, Model):
    """How many days a medicine is held before a procedure of this risk grade."""

    __tablename__ = "washout_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    drug: Mapped[AntithromboticDrug] = enum_column(
        AntithromboticDrug, "washout_drug", nullable=False
    )
    risk: Mapped[ProcedureRisk] = enum_column(ProcedureRisk, "washout_risk", nullable=False)
    hold_days: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    needs_review: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)

    __table_args__ = (
        sa.UniqueConstraint("drug", "risk", name="drug_risk"),
        sa.CheckConstraint("hold_days BETWEEN 0 AND 60", name="hold_days_range"),
    )


class ScreenOutcome(enum.Enum):
    CLEARED = "cleared"
    NEEDS_OVERRIDE = "needs_override"
    OVERRIDDEN = "overridden"
    STOPPED = "stopped"

    @property
    def label(self) -> str:
        return {
            "cleared": "Cleared",
            "needs_override": "Needs a provider's decision",
            "overridden": "Cleared by a provider's override",
            "stopped": "Stopped",
        }[self.value]

    @property
    def allows_procedure(self) -> bool:
        return self in (ScreenOutcome.CLEARED, ScreenOutcome.OVERRIDDEN)


PREGNANCY = ("not_applicable", "negative", "positive")


class DayOfScreen(TimestampMixin, VersionedMixin, Model):
    """The screen done on the day of a cycle's procedure, before collection starts."""

    __tablename__ = "day_of_screen"

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(
        sa.ForeignKey("treatment_cycle.id"), nullable=False, unique=True
    )
    screened_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    screened_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    medicines_confirmed: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    allergies_confirmed: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    new_medicines: Mapped[str | None] = mapped_column(sa.String(300))
    infection_signs: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    pregnancy: Mapped[str] = mapped_column(sa.String(16), nullable=False, default="not_applicable")
    platelets: Mapped[Decimal | None] = mapped_column(sa.Numeric(10, 2))
    hb: Mapped[Decimal | None] = mapped_column(sa.Numeric(10, 2))
    inr: Mapped[Decimal | None] = mapped_column(sa.Numeric(10, 2))
    consent_form_version: Mapped[str | None] = mapped_column(sa.String(40))
    consent_signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    findings: Mapped[str | None] = mapped_column(sa.Text)
    outcome: Mapped[ScreenOutcome] = enum_column(ScreenOutcome, "screen_outcome", nullable=False)
    override_reason: Mapped[str | None] = mapped_column(sa.String(500))
    override_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    __table_args__ = (
        sa.CheckConstraint(f"pregnancy IN {PREGNANCY!r}", name="pregnancy_known"),
        sa.CheckConstraint(
            "(outcome = 'overridden')"
            " = (override_by_id IS NOT NULL AND override_reason IS NOT NULL)",
            name="override_who_and_why",
        ),
        sa.CheckConstraint(
            "(consent_signed_at IS NULL) = (consent_form_version IS NULL)",
            name="reconsent_form_and_time_together",
        ),
        *check_constraints("day_of_screen"),
    )


class ContraindicationReview(Model):
    """A provider's review of an absolute contraindication recorded in an earlier journey."""

    __tablename__ = "contraindication_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), nullable=False, index=True)
    journey_id: Mapped[int] = mapped_column(sa.ForeignKey("journey.id"), nullable=False)
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    reviewed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    note: Mapped[str] = mapped_column(sa.String(500), nullable=False)

    reviewed_by: Mapped[User] = relationship()

    __table_args__ = (sa.UniqueConstraint("journey_id", name="one_review_per_journey"),)


class TimeoutMember(Model):
    """One team member's own confirmation of an injection's time-out."""

    __tablename__ = "timeout_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stage.id"), nullable=False, index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    # "password" (typed on the time-out screen) or "session" (their own signed-in session)
    confirmed_by: Mapped[str] = mapped_column(sa.String(10), nullable=False)

    user: Mapped[User] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("stage_id", "user_id", name="stage_user"),
        sa.CheckConstraint("confirmed_by IN ('password', 'session')", name="confirmed_by_known"),
    )
