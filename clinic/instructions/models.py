"""Instruction texts: every edit is a new version; the newest approved or sample one is shown."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.extensions import Model
from clinic.instructions.phases import Phase
from clinic.models.base import UTCDateTime, enum_column, utcnow
from clinic.patients.models import Patient


class ReviewStatus(enum.Enum):
    SAMPLE = "sample"  # shipped or drafted text awaiting the medical director's review
    APPROVED = "approved"


class InstructionVersion(Model):
    """One version of the instructions for one therapy and phase. Never edited in place."""

    __tablename__ = "instruction_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    therapy: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    phase: Mapped[Phase] = enum_column(Phase, "instruction_phase", nullable=False)
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    title: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    # When to call the clinic or 911: shown apart from the body, highlighted, in every phase.
    warning_signs: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    review_status: Mapped[ReviewStatus] = enum_column(
        ReviewStatus, "review_status", nullable=False, default=ReviewStatus.SAMPLE
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    created_by = relationship("User", foreign_keys=[created_by_id], lazy="joined")
    approved_by = relationship("User", foreign_keys=[approved_by_id], lazy="joined")

    __table_args__ = (
        sa.UniqueConstraint("therapy", "phase", "version", name="one_number_per_version"),
        sa.CheckConstraint(
            "therapy IN ('prp', 'bmac', 'adipose', 'growth_factor')", name="known_therapy"
        ),
        sa.CheckConstraint(
            "(review_status = 'approved') = (approved_at IS NOT NULL)",
            name="approved_has_time",
        ),
    )

    @property
    def paragraphs(self) -> list[str]:
        return _paragraphs(self.body)

    @property
    def warning_lines(self) -> list[str]:
        """The warning signs, one per line (bullets)."""
        text = (self.warning_signs or "").replace("\r\n", "\n")
        return [line.strip(" -•\t") for line in text.split("\n") if line.strip(" -•\t")]


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]


class InstructionReceipt(Model):
    """Which version a patient was given, when and by whom (e.g. at discharge)."""

    __tablename__ = "instruction_receipt"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        sa.ForeignKey("patient.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    text_version_id: Mapped[int] = mapped_column(
        sa.ForeignKey("instruction_version.id", ondelete="RESTRICT"), nullable=False
    )
    given_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    given_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    occasion: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="discharge")

    patient: Mapped[Patient] = relationship(Patient)
    text_version: Mapped[InstructionVersion] = relationship(lazy="joined")
