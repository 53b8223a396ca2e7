"""The patient record."""

from __future__ import annotations

import enum
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from clinic.extensions import db
from clinic.models.base import TimestampMixin, VersionedMixin, enum_column


class Sex(enum.Enum):
    FEMALE = "female"
    MALE = "male"
    INTERSEX = "intersex"
    UNKNOWN = "unknown"


class Patient(TimestampMixin, VersionedMixin, db.Model):
    """A person the clinic treats, identified by MRN and by name plus date of birth."""

    __tablename__ = "patient"

    id: Mapped[int] = mapped_column(primary_key=True)
    mrn: Mapped[str] = mapped_column(sa.String(20), unique=True, nullable=False)
    given_name: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    family_name: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    date_of_birth: Mapped[date] = mapped_column(sa.Date, nullable=False)
    sex: Mapped[Sex] = enum_column(Sex, "sex", nullable=False, default=Sex.UNKNOWN)
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    email: Mapped[str | None] = mapped_column(sa.String(254))

    __table_args__ = (
        sa.Index("ix_patient_name_dob", "family_name", "given_name", "date_of_birth"),
    )

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def display_name(self) -> str:
        """Family name first, as lists and labels show it."""
        return f"{self.family_name}, {self.given_name}"
