"""Patient record operations: registration, edits, duplicate checks and search."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from clinic.errors import Refused
from clinic.extensions import db
from clinic.mail import send
from clinic.models import audit
from clinic.models.savepoint import unique_or_conflict
from clinic.patients.models import (
    MRN_SEQUENCE,
    ContactMethod,
    MrnCounter,
    Patient,
    Sex,
    fold_name,
    phone_digits,
)
from clinic.portal import services as portal

if TYPE_CHECKING:
    from clinic.auth.models import User

MRN_PREFIX = "CJ"

# Demographic fields a registration or edit may set, besides the names and date of birth.
DETAIL_FIELDS = (
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "emergency_name",
    "emergency_relationship",
    "emergency_phone",
)


def next_mrn() -> str:
    """The next medical record number: prefix plus a zero-padded running number.

    The number comes from the PostgreSQL sequence, or on SQLite from the counter row, whose
    UPDATE takes the write lock so that simultaneous registrations never get the same one.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        number = db.session.scalar(sa.select(MRN_SEQUENCE.next_value()))
    else:
        number = db.session.scalar(
            sa.update(MrnCounter)
            .where(MrnCounter.id == 1)
            .values(last_number=MrnCounter.last_number + 1)
            .returning(MrnCounter.last_number)
            .execution_options(synchronize_session=False)
        )
    if number is None:
        raise RuntimeError("The MRN counter is missing: run `flask db upgrade`.")
    return f"{MRN_PREFIX}{number:06d}"


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _check_contact(patient: Patient) -> None:
    method = patient.preferred_contact
    if method is ContactMethod.EMAIL and not patient.email:
        raise Refused("Add an e-mail address or choose another way to reach them.", "email")
    if method in (ContactMethod.PHONE, ContactMethod.TEXT) and not patient.phone:
        raise Refused("Add a phone number or choose another way to reach them.", "phone")
    if method is ContactMethod.MAIL and not (patient.address_line1 and patient.city):
        raise Refused("Add a postal address or choose another way to reach them.", "address_line1")


def register_patient(
    *,
    given_name: str,
    family_name: str,
    date_of_birth: date,
    sex: Sex,
    phone: str | None = None,
    email: str | None = None,
    by: User | None = None,
    preferred_contact: ContactMethod | None = None,
    **details: str | None,
) -> Patient:
    """A new patient record with a fresh MRN; `by` is None when the command line registers.

    `details` are the optional address and emergency-contact fields (DETAIL_FIELDS).
    """
    unknown = set(details) - set(DETAIL_FIELDS)
    if unknown:
        raise TypeError(f"unknown patient fields: {sorted(unknown)}")
    patient = Patient(
        mrn=next_mrn(),
        given_name=given_name.strip(),
        family_name=family_name.strip(),
        date_of_birth=date_of_birth,
        sex=sex,
        phone=_clean(phone),
        email=_clean(email),
        preferred_contact=preferred_contact
        or (
            ContactMethod.PHONE
            if _clean(phone)
            else ContactMethod.EMAIL
            if _clean(email)
            else ContactMethod.MAIL
        ),
        **{name: _clean(value) for name, value in details.items()},
    )
    if preferred_contact is not None:
        _check_contact(patient)
    with unique_or_conflict("This record number was taken at the same moment. Save again."):
        db.session.add(patient)
    audit.record("patient.registered", actor=by, obj=patient, patient_id=patient.id)
    return patient


EDITABLE = (
    "given_name",
    "family_name",
    "date_of_birth",
    "sex",
    "phone",
    "email",
    "preferred_contact",
    *DETAIL_FIELDS,
)


def update_patient(
    patient: Patient, *, by: User, email_change_reason: str | None = None, **values
) -> list[str]:
    """Change demographics; returns the names of the fields that changed (audited, no values).

    A new e-mail for a patient with a portal account needs a reason; the old address is told.
    """

    old_email = patient.email
    if "email" in values and portal.needs_email_change_reason(patient, values["email"]):
        for notice in portal.change_account_email(
            patient, old_email, values["email"], email_change_reason or "", by=by
        ):
            send(notice)
    changed = []
    for name in EDITABLE:
        if name not in values:
            continue
        value = values[name]
        if isinstance(value, str):
            value = _clean(value)
        if getattr(patient, name) != value:
            setattr(patient, name, value)
            changed.append(name)
    _check_contact(patient)
    if changed:
        db.session.flush()
        audit.record(
            "patient.updated",
            actor=by,
            obj=patient,
            patient_id=patient.id,
            detail="changed: " + ", ".join(changed),
        )
    return changed


def possible_duplicates(
    *,
    given_name: str,
    family_name: str,
    date_of_birth: date | None,
    phone: str | None,
    exclude_id: int | None = None,
) -> list[Patient]:
    """Patients with the same name and date of birth, or the same phone number."""
    same = []
    if date_of_birth is not None:
        same.append(
            sa.and_(
                Patient.family_key == fold_name(family_name),
                Patient.given_key == fold_name(given_name),
                Patient.date_of_birth == date_of_birth,
            )
        )
    digits = phone_digits(phone)
    if digits:
        same.append(Patient.phone_key == digits)
    if not same:
        return []
    query = sa.select(Patient).where(sa.or_(*same)).order_by(Patient.mrn).limit(10)
    if exclude_id is not None:
        query = query.where(Patient.id != exclude_id)
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class SearchTerms:
    """How a search box entry was understood."""

    kind: str  # "mrn", "dob", "phone", "name", "empty"
    query: sa.Select


DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%m-%d-%Y", "%m/%d/%y")
MRN_PATTERN = re.compile(r"^[A-Za-z]{1,3}\d{3,}$")


def _as_date(text: str) -> date | None:
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _prefix(column, key: str):
    """`column` starts with `key`, written as a range so that a plain b-tree index serves it."""
    upper = key[:-1] + chr(ord(key[-1]) + 1)
    return sa.and_(column >= key, column < upper)


def search_query(text: str) -> SearchTerms:
    """Patients matching a search box entry: an MRN, a date of birth, a phone number or a
    name ("family", "family, given", "given family"), each served by an index."""
    text = (text or "").strip()
    base = sa.select(Patient).order_by(Patient.family_key, Patient.given_key, Patient.id)
    if not text:
        return SearchTerms("empty", base.where(sa.false()))
    if MRN_PATTERN.match(text):
        return SearchTerms("mrn", base.where(Patient.mrn == text.upper()))
    day = _as_date(text)
    if day is not None:
        return SearchTerms("dob", base.where(Patient.date_of_birth == day))
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 7 and not re.search(r"[A-Za-z]", text):
        return SearchTerms("phone", base.where(Patient.phone_key == phone_digits(digits)))
    if "," in text:
        family, given = (fold_name(part) for part in text.split(",", 1))
        parts = [family, given]
        if not family:
            return SearchTerms("empty", base.where(sa.false()))
        where = _prefix(Patient.family_key, family)
        if given:
            where = sa.and_(Patient.family_key == family, _prefix(Patient.given_key, given))
        return SearchTerms("name", base.where(where))
    parts = [fold_name(p) for p in text.split() if fold_name(p)]
    if not parts:
        return SearchTerms("empty", base.where(sa.false()))
    if len(parts) == 1:
        key = parts[0]
        # Two index range scans joined by UNION: written as one OR, the planner walks the
        # family-name index in result order and filters tens of thousands of rows (EXPLAIN).
        either = sa.union(
            sa.select(Patient.id).where(_prefix(Patient.family_key, key)),
            sa.select(Patient.id).where(_prefix(Patient.given_key, key)),
        )
        return SearchTerms("name", base.where(Patient.id.in_(either)))
    given, family = parts[0], "".join(parts[1:])
    return SearchTerms(
        "name",
        base.where(
            sa.or_(
                sa.and_(Patient.family_key == family, _prefix(Patient.given_key, given)),
                sa.and_(_prefix(Patient.family_key, family), Patient.given_key == given),
                sa.and_(
                    Patient.family_key == parts[0], _prefix(Patient.given_key, "".join(parts[1:]))
                ),
            )
        ),
    )
