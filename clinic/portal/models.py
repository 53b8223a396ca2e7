"""Single-use, expiring links that let a patient set a password (invitation or reset)."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.extensions import Model
from clinic.models.base import UTCDateTime, enum_column, utcnow
from clinic.patients.models import Patient


class LinkPurpose(enum.Enum):
    INVITE = "invite"
    RESET = "reset"


class PortalLink(Model):
    """One e-mailed link. Only a hash of its token is stored; it works once, until it expires."""

    __tablename__ = "portal_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        sa.ForeignKey("patient.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    purpose: Mapped[LinkPurpose] = enum_column(LinkPurpose, "link_purpose", nullable=False)
    email: Mapped[str] = mapped_column(sa.String(254), nullable=False)
    token_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    patient: Mapped[Patient] = relationship(Patient, lazy="joined")
    created_by = relationship("User", lazy="joined", foreign_keys=[created_by_id])

    __table_args__ = (
        sa.CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        sa.CheckConstraint(
            "used_at IS NULL OR revoked_at IS NULL", name="used_or_revoked_not_both"
        ),
    )

    def state(self, now: datetime) -> str:
        """pending, used, revoked or expired, as staff see it."""
        if self.used_at:
            return "used"
        if self.revoked_at:
            return "revoked"
        return "expired" if now >= self.expires_at else "pending"
