"""A journey (one treatment episode), its target sites and cycles, and the stages it runs."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.auth.models import User
from clinic.extensions import Model, db
from clinic.journeys.models.catalog import ChecklistTemplate, Condition
from clinic.journeys.states import (
    DONE_STAGE,
    LOCKED_STAGE,
    JourneyStatus,
    StageKind,
    StageStatus,
    Therapy,
)
from clinic.models.base import TimestampMixin, UTCDateTime, VersionedMixin, enum_column
from clinic.patients.models import Patient

journey_condition = sa.Table(
    "journey_condition",
    db.metadata,
    sa.Column("journey_id", sa.ForeignKey("journey.id"), primary_key=True),
    sa.Column("condition_id", sa.ForeignKey("condition.id"), primary_key=True),
)

LEVELS = [
    "C2-C3",
    "C3-C4",
    "C4-C5",
    "C5-C6",
    "C6-C7",
    "C7-T1",
    "T12-L1",
    "L1-L2",
    "L2-L3",
    "L3-L4",
    "L4-L5",
    "L5-S1",
    "SI",
]
SIDES = ("left", "right", "bilateral", "midline")
STRUCTURES = ("disc", "facet", "si_joint", "ligament", "muscle_tendon")


class Journey(TimestampMixin, VersionedMixin, Model):
    """One treatment episode of a patient: conditions, therapy, targets, provider, cycles."""

    __tablename__ = "journey"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), nullable=False, index=True)
    therapy: Mapped[Therapy] = enum_column(Therapy, "therapy", nullable=False)
    provider_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id"), nullable=False, index=True
    )
    status: Mapped[JourneyStatus] = enum_column(
        JourneyStatus, "journey_status", nullable=False, default=JourneyStatus.EVALUATING
    )
    status_reason: Mapped[str | None] = mapped_column(sa.String(500))
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    patient: Mapped[Patient] = relationship(Patient)
    provider: Mapped[User] = relationship(User, foreign_keys=[provider_id])
    conditions: Mapped[list[Condition]] = relationship(secondary=journey_condition)
    targets: Mapped[list[TargetSite]] = relationship(
        back_populates="journey", order_by="TargetSite.id"
    )
    cycles: Mapped[list[Cycle]] = relationship(back_populates="journey", order_by="Cycle.number")
    stages: Mapped[list[Stage]] = relationship(back_populates="journey", order_by="Stage.id")

    __table_args__ = (
        sa.Index("ix_journey_updated_at", "updated_at"),  # recalls.count_due's stamp
        sa.CheckConstraint(
            "status NOT IN ('not_candidate', 'cancelled') OR status_reason IS NOT NULL",
            name="ended_with_reason",
        ),
        # open journeys by id (and provider): the recall list and the due count join
        # follow-ups to them without reading the journey rows
        sa.Index(
            "ix_journey_open",
            "id",
            "provider_id",
            postgresql_where=sa.text("status IN ('evaluating', 'in_treatment', 'follow_up')"),
            sqlite_where=sa.text("status IN ('evaluating', 'in_treatment', 'follow_up')"),
        ),
    )

    @property
    def evaluation(self) -> Stage | None:
        live = [s for s in self.stages if s.kind is StageKind.EVALUATION and s.is_live]
        return live[-1] if live else None

    @property
    def current_cycle(self) -> Cycle | None:
        return self.cycles[-1] if self.cycles else None


class TargetSite(Model):
    __tablename__ = "target_site"

    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[int] = mapped_column(sa.ForeignKey("journey.id"), nullable=False, index=True)
    level: Mapped[str] = mapped_column(sa.String(8), nullable=False)
    side: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    structure: Mapped[str] = mapped_column(sa.String(16), nullable=False)

    journey: Mapped[Journey] = relationship(back_populates="targets")

    __table_args__ = (
        sa.CheckConstraint(f"side IN {SIDES!r}", name="side_known"),
        sa.CheckConstraint(f"structure IN {STRUCTURES!r}", name="structure_known"),
    )

    @property
    def display(self) -> str:
        return f"{self.level} {self.side} {self.structure.replace('_', ' ')}"


class Cycle(TimestampMixin, Model):
    """One round of collection → processing → injection → recovery within a journey."""

    __tablename__ = "treatment_cycle"

    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[int] = mapped_column(sa.ForeignKey("journey.id"), nullable=False, index=True)
    number: Mapped[int] = mapped_column(sa.Integer, nullable=False)

    journey: Mapped[Journey] = relationship(back_populates="cycles")
    stages: Mapped[list[Stage]] = relationship(back_populates="cycle", order_by="Stage.id")

    __table_args__ = (
        sa.UniqueConstraint("journey_id", "number", name="journey_number"),
        sa.CheckConstraint("number >= 1", name="number_positive"),
    )


OPEN_STAGE_SQL = "status IN ('pending', 'in_progress', 'completed')"


class Stage(TimestampMixin, VersionedMixin, Model):
    """One stage of a journey: its status, who moved it and when, and its checklist version."""

    __tablename__ = "stage"

    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[int] = mapped_column(sa.ForeignKey("journey.id"), nullable=False, index=True)
    cycle_id: Mapped[int | None] = mapped_column(sa.ForeignKey("treatment_cycle.id"), index=True)
    kind: Mapped[StageKind] = enum_column(StageKind, "stage_kind", nullable=False)
    status: Mapped[StageStatus] = enum_column(
        StageStatus, "stage_status", nullable=False, default=StageStatus.PENDING
    )
    checklist_template_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("checklist_template.id")
    )
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    end_reason: Mapped[str | None] = mapped_column(sa.String(300))

    journey: Mapped[Journey] = relationship(back_populates="stages")
    cycle: Mapped[Cycle | None] = relationship(back_populates="stages")
    checklist_template: Mapped[ChecklistTemplate | None] = relationship()
    completed_by: Mapped[User | None] = relationship(foreign_keys=[completed_by_id])
    signed_by: Mapped[User | None] = relationship(foreign_keys=[signed_by_id])
    ended_by: Mapped[User | None] = relationship(foreign_keys=[ended_by_id])

    __table_args__ = (
        sa.CheckConstraint(
            "(kind = 'evaluation' AND cycle_id IS NULL)"
            " OR (kind <> 'evaluation' AND cycle_id IS NOT NULL)",
            name="cycle_matches_kind",
        ),
        sa.CheckConstraint(
            "status NOT IN ('completed', 'signed')"
            " OR (completed_at IS NOT NULL AND completed_by_id IS NOT NULL)",
            name="completed_has_who_and_when",
        ),
        sa.CheckConstraint(
            "status <> 'signed' OR signed_at IS NOT NULL",
            name="signed_has_who_and_when",
        ),
        sa.CheckConstraint(
            "status NOT IN ('cancelled', 'voided')"
            " OR (ended_at IS NOT NULL AND end_reason IS NOT NULL)",
            name="ended_has_reason",
        ),
        sa.CheckConstraint(
            "(signed_at IS NULL) = (signed_by_id IS NULL)", name="signer_and_time_together"
        ),
        # the worklist: open stages in the order it lists them (most stages are signed)
        sa.Index(
            "ix_stage_open",
            "status",
            "updated_at",
            "id",
            postgresql_where=sa.text(OPEN_STAGE_SQL),
            sqlite_where=sa.text(OPEN_STAGE_SQL),
        ),
        sa.Index("ix_stage_started_at", "started_at"),  # today's procedures
        sa.Index("ix_stage_updated_at", "updated_at"),  # the kept worklist rows' stamp
    )

    @property
    def is_live(self) -> bool:
        return self.status not in (StageStatus.CANCELLED, StageStatus.VOIDED)

    @property
    def is_done(self) -> bool:
        return self.status in DONE_STAGE

    @property
    def is_locked(self) -> bool:
        """Signed, cancelled or voided: fields are frozen, notes become addenda."""
        return self.status in LOCKED_STAGE

    @property
    def title(self) -> str:
        if self.cycle_id is None:
            return self.kind.label
        return f"{self.kind.label} (cycle {self.cycle.number})"
