"""Patient record operations."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import sqlalchemy as sa

from clinic.extensions import db
from clinic.models import audit
from clinic.patients.models import Patient, Sex

if TYPE_CHECKING:
    from clinic.auth.models import User

MRN_PREFIX = "CJ"


def next_mrn() -> str:
    """The next medical record number: prefix plus a zero-padded running number."""
    last = db.session.scalar(
        sa.select(Patient.mrn)
        .where(Patient.mrn.startswith(MRN_PREFIX))
        .order_by(sa.func.length(Patient.mrn).desc(), Patient.mrn.desc())
        .limit(1)
    )
    number = int(last[len(MRN_PREFIX) :]) + 1 if last else 100001
    return f"{MRN_PREFIX}{number:06d}"


def register_patient(
    *,
    given_name: str,
    family_name: str,
    date_of_birth: date,
    sex: Sex,
    phone: str | None = None,
    email: str | None = None,
    by: User | None = None,
) -> Patient:
    """A new patient record with a fresh MRN; `by` is None when the command line registers."""
    patient = Patient(
        mrn=next_mrn(),
        given_name=given_name.strip(),
        family_name=family_name.strip(),
        date_of_birth=date_of_birth,
        sex=sex,
        phone=phone,
        email=email,
    )
    db.session.add(patient)
    db.session.flush()
    audit.record("patient.registered", actor=by, obj=patient, patient_id=patient.id)
    return patient
