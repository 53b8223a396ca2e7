"""User accounts and roles."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask import g, has_request_context
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.extensions import Model, db
from clinic.models.base import TimestampMixin, UTCDateTime, VersionedMixin, enum_column, utcnow
from clinic.patients.models import Patient


class Role(enum.Enum):
    ADMIN = "admin"
    FRONT_DESK = "front_desk"
    PROVIDER = "provider"
    CLINICAL_STAFF = "clinical_staff"
    PATIENT = "patient"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]

    @property
    def is_staff(self) -> bool:
        return self is not Role.PATIENT


ROLE_LABELS = {
    Role.ADMIN: "Administrator",
    Role.FRONT_DESK: "Front desk",
    Role.PROVIDER: "Provider",
    Role.CLINICAL_STAFF: "Clinical staff",
    Role.PATIENT: "Patient",
}


class User(UserMixin, TimestampMixin, VersionedMixin, Model):
    """One person's login. A patient account is bound to exactly one patient record."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True, nullable=False)
    full_name: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    role: Mapped[Role] = enum_column(Role, "role", nullable=False)
    password_hash: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    # Bumped whenever every existing session of this user must end (logout, password change,
    # deactivation, admin reset); it is part of the session's user id, so old cookies stop working.
    session_version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1)
    patient_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("patient.id", ondelete="RESTRICT"), unique=True
    )

    patient: Mapped[Patient | None] = relationship(Patient, lazy="joined")

    __table_args__ = (
        sa.CheckConstraint(
            "(role = 'patient' AND patient_id IS NOT NULL)"
            " OR (role <> 'patient' AND patient_id IS NULL)",
            name="patient_link_matches_role",
        ),
        sa.CheckConstraint("email = lower(email)", name="email_lowercase"),
        # staff of one role by name (the registry's provider filter), among the portal accounts
        sa.Index("ix_user_account_role_name", "role", "full_name"),
    )

    def get_id(self) -> str:
        """The session's user id: the account id and its session version."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def is_staff(self) -> bool:
        return self.role.is_staff

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value}>"


class SecondFactor(Model):
    """A staff member's authenticator-app secret (encrypted). Unconfirmed until a first code."""

    __tablename__ = "second_factor"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    secret_encrypted: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The 30-second time step of the last accepted code: a code is never accepted twice.
    last_step: Mapped[int | None] = mapped_column(sa.BigInteger)


class RecoveryCode(Model):
    """A single-use recovery code, stored only as the SHA-256 of a high-entropy value."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True
    )
    code_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignedInSession(Model):
    """One browser session of a user, listed on the account page; the cookie holds its token."""

    __tablename__ = "signed_in_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="CASCADE"), nullable=False, index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    user_agent: Mapped[str | None] = mapped_column(sa.String(200))
    remote_addr: Mapped[str | None] = mapped_column(sa.String(64))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def end_registered_sessions(user: User, *, keep: SignedInSession | None = None) -> int:
    """Mark the user's listed sessions ended (all, or all but `keep`); returns how many."""
    query = sa.update(SignedInSession).where(
        SignedInSession.user_id == user.id, SignedInSession.ended_at.is_(None)
    )
    if keep is not None:
        query = query.where(SignedInSession.id != keep.id)
    result = db.session.execute(
        query.values(ended_at=utcnow()).execution_options(synchronize_session=False)
    )
    if has_request_context():
        g.pop("session_row", None)  # the row read at sign-in check may have just been ended
    return int(getattr(result, "rowcount", 0) or 0)


def end_sessions(user: User) -> None:
    """Invalidate every session this user holds anywhere."""
    user.session_version = (user.session_version or 0) + 1
    end_registered_sessions(user)
