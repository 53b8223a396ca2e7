"""Who is on a journey's care team besides its responsible provider, and break-glass grants."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.auth.models import User
from clinic.extensions import Model
from clinic.models.base import UTCDateTime, enum_column, utcnow
from clinic.patients.models import Patient


class TeamRole(enum.Enum):
    COVERING_PROVIDER = "covering_provider"
    CLINICAL_STAFF = "clinical_staff"

    @property
    def label(self) -> str:
        return {"covering_provider": "Covering provider", "clinical_staff": "Clinical staff"}[
            self.value
        ]


class BreakGlassReason(enum.Enum):
    EMERGENCY = "emergency"
    COVERING = "covering"
    PATIENT_CONTACT = "patient_contact"
    RESULTS = "results"
    OTHER = "other"

    @property
    def label(self) -> str:
        return BREAK_GLASS_LABELS[self]


BREAK_GLASS_LABELS = {
    BreakGlassReason.EMERGENCY: "Urgent or emergency care",
    BreakGlassReason.COVERING: "Covering for a colleague not yet assigned",
    BreakGlassReason.PATIENT_CONTACT: "The patient contacted me and needs an answer",
    BreakGlassReason.RESULTS: "Reviewing a result or specimen issue",
    BreakGlassReason.OTHER: "Another reason (explain below)",
}


class JourneyMember(Model):
    """A covering provider or clinical staff member assigned to one journey."""

    __tablename__ = "journey_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    journey_id: Mapped[int] = mapped_column(sa.ForeignKey("journey.id"), nullable=False, index=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id"), nullable=False, index=True
    )
    team_role: Mapped[TeamRole] = enum_column(TeamRole, "team_role", nullable=False)
    added_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    user: Mapped[User] = relationship(User, foreign_keys=[user_id], lazy="joined")

    __table_args__ = (sa.UniqueConstraint("journey_id", "user_id", name="journey_user"),)


class BreakGlass(Model):
    """Time-limited access to one patient outside the clinician's care team, for review."""

    __tablename__ = "break_glass"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id"), nullable=False, index=True
    )
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), nullable=False, index=True)
    reason: Mapped[BreakGlassReason] = enum_column(
        BreakGlassReason, "break_glass_reason", nullable=False
    )
    explanation: Mapped[str] = mapped_column(sa.String(500), nullable=False)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))
    review_note: Mapped[str | None] = mapped_column(sa.String(500))

    user: Mapped[User] = relationship(User, foreign_keys=[user_id], lazy="joined")
    reviewed_by: Mapped[User | None] = relationship(User, foreign_keys=[reviewed_by_id])
    patient: Mapped[Patient] = relationship(Patient)

    __table_args__ = (
        sa.CheckConstraint("expires_at > granted_at", name="expires_after_granted"),
        sa.CheckConstraint(
            "(reviewed_at IS NULL) = (reviewed_by_id IS NULL)", name="reviewed_with_reviewer"
        ),
        sa.Index("ix_break_glass_user_patient", "user_id", "patient_id", "expires_at"),
    )

    __audit_type__ = "break_glass"

    def is_active(self, now: datetime) -> bool:
        return self.granted_at <= now < self.expires_at
