"""The patient record."""

from __future__ import annotations

import enum
import re
import unicodedata
from datetime import date, datetime
from typing import Any

import jellyfish
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from clinic.extensions import Model, db
from clinic.models.base import TimestampMixin, UTCDateTime, VersionedMixin, enum_column


class Sex(enum.Enum):
    FEMALE = "female"
    MALE = "male"
    INTERSEX = "intersex"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class ContactMethod(enum.Enum):
    PHONE = "phone"
    TEXT = "text"
    EMAIL = "email"
    MAIL = "mail"

    @property
    def label(self) -> str:
        return {"phone": "Phone call", "text": "Text message", "email": "E-mail", "mail": "Post"}[
            self.value
        ]


def fold_name(value: str | None) -> str:
    """A name reduced to lowercase ASCII letters and digits, for search and duplicate checks."""
    if not value:
        return ""
    plain = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


def phone_digits(value: str | None) -> str | None:
    """The digits of a phone number; a US number without its leading 1, so both forms match."""
    if not value:
        return None
    digits = re.sub(r"\D", "", value)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits or None


def sound_key(value: str | None) -> str:
    """How a name sounds (Metaphone of its folded letters), so misspellings still match:
    "Okafer" and "Okafor" are both OKFR."""
    letters = re.sub(r"[^a-z]", "", fold_name(value))
    return jellyfish.metaphone(letters)[:40].upper() if letters else ""


def reversed_digits(digits: str | None) -> str | None:
    """The phone digits back to front: the last four digits become a prefix an index serves."""
    return digits[::-1] if digits else None


# Where medical record numbers come from. PostgreSQL draws them from this sequence; SQLite,
# which has none, from the one row of MrnCounter. Either way no two registrations share one,
# and nothing scans the patient table for the highest number.
MRN_SEQUENCE = sa.Sequence("patient_mrn_seq", start=100001, metadata=db.metadata)


class MrnCounter(Model):
    """The last medical record number handed out (one row; used on SQLite only)."""

    __tablename__ = "mrn_counter"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_number: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)

    __table_args__ = (sa.CheckConstraint("id = 1", name="one_row"),)


class PersonName:
    """A patient's name as the pages write it, for anything with `given_name` and
    `family_name` (the record, or a calendar's light row)."""

    given_name: str
    family_name: str

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def display_name(self) -> str:
        """Family name first, as lists and labels show it."""
        return f"{self.family_name}, {self.given_name}"


class Patient(PersonName, TimestampMixin, VersionedMixin, Model):
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
    # Search keys kept beside the display values (set by the model, indexed, prefix-searchable).
    family_key: Mapped[str] = mapped_column(sa.String(80), nullable=False, default="")
    given_key: Mapped[str] = mapped_column(sa.String(80), nullable=False, default="")
    phone_key: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    family_sound: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="")
    given_sound: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="")
    phone_rev: Mapped[str | None] = mapped_column(sa.String(20))
    address_line1: Mapped[str | None] = mapped_column(sa.String(120))
    address_line2: Mapped[str | None] = mapped_column(sa.String(120))
    city: Mapped[str | None] = mapped_column(sa.String(80))
    region: Mapped[str | None] = mapped_column(sa.String(40))
    postal_code: Mapped[str | None] = mapped_column(sa.String(16))
    emergency_name: Mapped[str | None] = mapped_column(sa.String(120))
    emergency_relationship: Mapped[str | None] = mapped_column(sa.String(40))
    emergency_phone: Mapped[str | None] = mapped_column(sa.String(32))
    preferred_contact: Mapped[ContactMethod] = enum_column(
        ContactMethod, "preferred_contact", nullable=False, default=ContactMethod.PHONE
    )
    # A duplicate merged into another record is kept, retired, and points at the survivor.
    # (not indexed: an index SQLite would prefer to the search keys; patient_merge has one)
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("patient.id"))
    merged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.Index("ix_patient_name_dob", "family_name", "given_name", "date_of_birth"),
        # A name search reads each index range's first matches in the results' order, with
        # the keys it sorts by, from the index alone (on PostgreSQL the retired mark is in
        # it too: an index-only scan, no table row read for a match that is not shown).
        sa.Index(
            "ix_patient_family_key",
            "family_key",
            "given_key",
            "id",
            postgresql_include=["merged_into_id"],
        ),
        sa.Index(
            "ix_patient_given_key",
            "given_key",
            "family_key",
            "id",
            postgresql_include=["merged_into_id"],
        ),
        sa.Index("ix_patient_dob", "date_of_birth"),
        sa.Index(
            "ix_patient_family_sound_order",
            "family_sound",
            "family_key",
            "given_key",
            "id",
            postgresql_include=["merged_into_id"],
        ),
        sa.Index(
            "ix_patient_given_sound_order",
            "given_sound",
            "family_key",
            "given_key",
            "id",
            postgresql_include=["merged_into_id"],
        ),
        sa.Index("ix_patient_phone_rev", "phone_rev"),
        sa.Index("ix_patient_email", "email"),
        sa.CheckConstraint(
            "(merged_into_id IS NULL) = (merged_at IS NULL)", name="merged_where_and_when"
        ),
        sa.CheckConstraint("merged_into_id IS NULL OR merged_into_id <> id", name="not_self"),
    )

    @sa.orm.validates("given_name", "family_name", "phone")
    def _keep_keys(self, key: str, value: str | None) -> str | None:
        if key == "given_name":
            self.given_key, self.given_sound = fold_name(value), sound_key(value)
        elif key == "family_name":
            self.family_key, self.family_sound = fold_name(value), sound_key(value)
        else:
            self.phone_key = phone_digits(value)
            self.phone_rev = reversed_digits(self.phone_key)
        return value

    @property
    def is_merged(self) -> bool:
        return self.merged_into_id is not None

    @property
    def address_lines(self) -> list[str]:
        town = " ".join(p for p in (self.city, self.region, self.postal_code) if p)
        return [line for line in (self.address_line1, self.address_line2, town) if line]


class AntithromboticDrug(enum.Enum):
    """Medicines the day-of screen checks against washout rules (plus NSAIDs, for PRP)."""

    WARFARIN = "warfarin"
    APIXABAN = "apixaban"
    RIVAROXABAN = "rivaroxaban"
    DABIGATRAN = "dabigatran"
    CLOPIDOGREL = "clopidogrel"
    PRASUGREL = "prasugrel"
    TICAGRELOR = "ticagrelor"
    ASPIRIN = "aspirin"
    NSAID = "nsaid"
    OTHER = "other"

    @property
    def label(self) -> str:
        if self is AntithromboticDrug.NSAID:
            return "NSAID (ibuprofen, naproxen, …)"
        if self is AntithromboticDrug.OTHER:
            return "Other blood thinner"
        return self.value.capitalize()


class PatientAllergy(TimestampMixin, Model):
    """A recorded allergy and the reaction it causes; removed, never deleted."""

    __tablename__ = "patient_allergy"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), nullable=False, index=True)
    substance: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    reaction: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    __table_args__ = (
        sa.CheckConstraint(
            "(removed_at IS NULL) = (removed_by_id IS NULL)", name="removed_who_and_when"
        ),
    )


class PatientMedicine(TimestampMixin, Model):
    """A current anticoagulant, antiplatelet or NSAID and when it was last taken."""

    __tablename__ = "patient_medicine"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(sa.ForeignKey("patient.id"), nullable=False, index=True)
    drug: Mapped[AntithromboticDrug] = enum_column(
        AntithromboticDrug, "antithrombotic_drug", nullable=False
    )
    name: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    last_dose_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    __table_args__ = (
        sa.CheckConstraint(
            "(stopped_at IS NULL) = (stopped_by_id IS NULL)", name="stopped_who_and_when"
        ),
    )


class PatientMerge(Model):
    """One merge of a duplicate record into the survivor: who, when, why, and what moved.

    `moved` is a JSON object of table name to the ids moved; `retired_snapshot` the duplicate's
    identifying details at the moment of the merge (they stay on the retired record too).
    """

    __tablename__ = "patient_merge"

    id: Mapped[int] = mapped_column(primary_key=True)
    survivor_id: Mapped[int] = mapped_column(
        sa.ForeignKey("patient.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    retired_id: Mapped[int] = mapped_column(
        sa.ForeignKey("patient.id", ondelete="RESTRICT"), nullable=False, unique=True
    )
    merged_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), nullable=False)
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    reason: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    moved: Mapped[str] = mapped_column(sa.Text, nullable=False)
    retired_snapshot: Mapped[str] = mapped_column(sa.Text, nullable=False)

    survivor: Mapped[Patient] = sa.orm.relationship(Patient, foreign_keys=[survivor_id])
    retired: Mapped[Patient] = sa.orm.relationship(Patient, foreign_keys=[retired_id])
    merged_by: Mapped[Any] = sa.orm.relationship("User")
