"""Admin-editable catalogues: conditions, contraindications, checklists, follow-up protocols."""

from __future__ import annotations

import enum
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.extensions import Model
from clinic.journeys.states import StageKind, Therapy
from clinic.models.base import TimestampMixin, enum_column


class Condition(TimestampMixin, Model):
    """A diagnosis a journey treats, with its ICD-10-CM code."""

    __tablename__ = "condition"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(12), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(sa.String(160), nullable=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)

    @property
    def display(self) -> str:
        return f"{self.name} ({self.code})"


class ContraindicationKind(enum.Enum):
    ABSOLUTE = "absolute"
    RELATIVE = "relative"


class Contraindication(Model):
    """One item of the evaluation's contraindication screen."""

    __tablename__ = "contraindication"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), nullable=False, unique=True)
    label: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    kind: Mapped[ContraindicationKind] = enum_column(
        ContraindicationKind, "contraindication_kind", nullable=False
    )
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    # A measured value that makes this item present: `measure` below `below` or above `above`.
    measure: Mapped[str | None] = mapped_column(sa.String(12))
    below: Mapped[Decimal | None] = mapped_column(sa.Numeric(10, 2))
    above: Mapped[Decimal | None] = mapped_column(sa.Numeric(10, 2))

    __table_args__ = (
        sa.CheckConstraint(
            "measure IS NULL OR measure IN ('platelets', 'hb', 'inr')", name="measure_known"
        ),
        sa.CheckConstraint(
            "measure IS NULL OR below IS NOT NULL OR above IS NOT NULL", name="measure_has_limit"
        ),
    )

    def flags(self, value: Decimal | None) -> bool:
        """Whether a measured value crosses this item's threshold."""
        if value is None or self.measure is None:
            return False
        return (self.below is not None and value < self.below) or (
            self.above is not None and value > self.above
        )


class ChecklistTemplate(TimestampMixin, Model):
    """One version of a stage's checklist; therapy NULL means it serves every therapy."""

    __tablename__ = "checklist_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_kind: Mapped[StageKind] = enum_column(StageKind, "checklist_stage_kind", nullable=False)
    therapy: Mapped[Therapy | None] = enum_column(Therapy, "checklist_therapy")
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    title: Mapped[str] = mapped_column(sa.String(160), nullable=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    items: Mapped[list[ChecklistItem]] = relationship(
        back_populates="template", order_by="ChecklistItem.position"
    )

    __table_args__ = (
        sa.UniqueConstraint("stage_kind", "therapy", "version", name="kind_therapy_version"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
    )


class ChecklistItem(Model):
    __tablename__ = "checklist_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        sa.ForeignKey("checklist_template.id"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    text: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    required: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)

    template: Mapped[ChecklistTemplate] = relationship(back_populates="items")


class FollowUpProtocolStep(TimestampMixin, Model):
    """One follow-up of a therapy's protocol: due this many days after injection, with a window."""

    __tablename__ = "follow_up_protocol_step"

    id: Mapped[int] = mapped_column(primary_key=True)
    therapy: Mapped[Therapy] = enum_column(Therapy, "protocol_therapy", nullable=False)
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    label: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    due_days: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    window_before_days: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    window_after_days: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)

    __table_args__ = (
        sa.CheckConstraint("due_days >= 0", name="due_days_not_negative"),
        sa.CheckConstraint(
            "window_before_days >= 0 AND window_after_days >= 0 AND window_before_days <= due_days",
            name="window_sane",
        ),
    )


class TherapyConsent(TimestampMixin, Model):
    """What the consent says about a therapy: its regulatory status (FDA 21 CFR 1271)."""

    __tablename__ = "therapy_consent"

    therapy: Mapped[Therapy] = enum_column(Therapy, "consent_therapy", primary_key=True)
    regulatory_status: Mapped[str] = mapped_column(sa.Text, nullable=False)
    needs_review: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)


class ConsentRisk(Model):
    """One risk the consent names for a therapy, in the order it is listed."""

    __tablename__ = "consent_risk"

    id: Mapped[int] = mapped_column(primary_key=True)
    therapy: Mapped[Therapy] = enum_column(Therapy, "risk_therapy", nullable=False)
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    text: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)

    __table_args__ = (sa.Index("ix_consent_risk_therapy_position", "therapy", "position"),)
