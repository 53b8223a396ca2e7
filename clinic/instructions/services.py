"""Instruction versions: loading samples, editing (a new version each time), approving,
choosing what a patient sees, and recording what was handed to them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload

from clinic.auth.models import User
from clinic.errors import Refused, StaleWrite
from clinic.extensions import db
from clinic.instructions import context
from clinic.instructions.models import (
    InstructionReceipt,
    InstructionVersion,
    ReviewStatus,
)
from clinic.instructions.phases import PHASES, Phase, phase_on
from clinic.instructions.samples import sample_text, sample_warning_signs
from clinic.journeys.states import Therapy
from clinic.models import audit
from clinic.models.base import utcnow
from clinic.models.savepoint import is_unique_violation
from clinic.patients.models import Patient

STALE = "Someone saved a newer version while you were editing."
THERAPY_CODES = frozenset(t.value for t in Therapy)


def newest(therapy: str, phase: Phase) -> InstructionVersion | None:
    return db.session.scalars(
        sa.select(InstructionVersion)
        .where(InstructionVersion.therapy == therapy, InstructionVersion.phase == phase)
        .order_by(InstructionVersion.version.desc())
        .limit(1)
    ).first()


# Built once (building and keying a statement costs more than running this one); the author
# and approver load only if asked for: patients' pages show neither.
NEWEST_APPROVED = (
    sa.select(InstructionVersion)
    .options(lazyload(InstructionVersion.created_by), lazyload(InstructionVersion.approved_by))
    .where(
        InstructionVersion.therapy == sa.bindparam("therapy"),
        InstructionVersion.phase == sa.bindparam("phase"),
        InstructionVersion.review_status == ReviewStatus.APPROVED,
    )
    .order_by(InstructionVersion.version.desc())
    .limit(1)
)


def newest_approved(therapy: str, phase: Phase) -> InstructionVersion | None:
    """The newest approved version: the only text that reaches patients."""
    return db.session.scalars(NEWEST_APPROVED, {"therapy": therapy, "phase": phase}).first()


def clinic_locale() -> str:
    """Units and medicine names follow the clinic's country (US unless configured)."""
    return current_app.config.get("CLINIC_LOCALE", "US")


def newest_for_therapy(therapy: str) -> dict[Phase, InstructionVersion]:
    """The newest version of each phase for one therapy, in one query."""
    latest = (
        sa.select(InstructionVersion.phase, sa.func.max(InstructionVersion.version).label("v"))
        .where(InstructionVersion.therapy == therapy)
        .group_by(InstructionVersion.phase)
        .subquery()
    )
    rows = db.session.scalars(
        sa.select(InstructionVersion)
        .join(
            latest,
            sa.and_(
                InstructionVersion.phase == latest.c.phase, InstructionVersion.version == latest.c.v
            ),
        )
        .where(InstructionVersion.therapy == therapy)
    ).all()
    return {row.phase: row for row in rows}


def history(therapy: str, phase: Phase) -> list[InstructionVersion]:
    return db.session.scalars(
        sa.select(InstructionVersion)
        .where(InstructionVersion.therapy == therapy, InstructionVersion.phase == phase)
        .order_by(InstructionVersion.version.desc())
    ).all()


def load_samples(by: User | None = None) -> int:
    """Add the shipped sample text wherever a therapy and phase has none yet."""
    added = 0
    locale = clinic_locale()
    for therapy in (t.value for t in Therapy):
        have = newest_for_therapy(therapy)
        for phase in PHASES:
            if phase in have:
                continue
            title, body = sample_text(therapy, phase, locale)
            db.session.add(
                InstructionVersion(
                    therapy=therapy,
                    phase=phase,
                    version=1,
                    title=title,
                    body=body,
                    warning_signs=sample_warning_signs(therapy, locale),
                    review_status=ReviewStatus.SAMPLE,
                    created_by_id=by.id if by else None,
                )
            )
            added += 1
    db.session.flush()
    if added:
        audit.record("instructions.samples_loaded", actor=by, detail=f"{added} texts")
    return added


def save_new_version(
    therapy: str,
    phase: Phase,
    *,
    title: str,
    body: str,
    based_on: int | None,
    by: User,
    warning_signs: str | None = None,
) -> InstructionVersion:
    """Store an edit as the next version; refused if someone saved a newer one meanwhile."""
    if therapy not in THERAPY_CODES:
        raise Refused("Unknown therapy.")
    signs = (warning_signs or "").strip()
    if not signs:
        # Warning signs can never be removed: keep the previous version's, or the sample's.
        previous = newest(therapy, phase)
        signs = (
            previous.warning_signs
            if previous and previous.warning_signs
            else sample_warning_signs(therapy, clinic_locale())
        )
    current = newest(therapy, phase)
    current_number = current.version if current else None
    if based_on != current_number:
        raise StaleWrite(STALE, current=current)
    created = InstructionVersion(
        therapy=therapy,
        phase=phase,
        version=(current_number or 0) + 1,
        title=title.strip(),
        body=body.strip(),
        warning_signs=signs.strip(),
        review_status=ReviewStatus.SAMPLE,
        created_by_id=by.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(created)
            db.session.flush()
    except IntegrityError as err:
        # a simultaneous save took this number first (PostgreSQL; SQLite holds the write lock)
        if not is_unique_violation(err):
            raise
        raise StaleWrite(STALE, current=newest(therapy, phase)) from err
    audit.record(
        "instructions.version_saved",
        actor=by,
        obj=created,
        detail=f"{therapy}/{phase.value} v{created.version}",
    )
    return created


def approve(version: InstructionVersion, *, by: User) -> None:
    """Mark a version as reviewed and approved by the clinic."""
    if version.review_status is ReviewStatus.APPROVED:
        return
    latest = newest(version.therapy, version.phase)
    if latest is not None and latest.id != version.id:
        raise StaleWrite("Only the newest version can be approved.", current=latest)
    version.review_status = ReviewStatus.APPROVED
    version.approved_at = utcnow()
    version.approved_by_id = by.id
    db.session.flush()
    audit.record(
        "instructions.approved",
        actor=by,
        obj=version,
        detail=f"{version.therapy}/{version.phase.value} v{version.version}",
    )


def record_given(
    patient: Patient, version: InstructionVersion, *, by: User | None, occasion: str = "discharge"
) -> InstructionReceipt:
    """Remember which version the patient was given (the discharge check calls this)."""
    receipt = InstructionReceipt(
        patient_id=patient.id,
        text_version_id=version.id,
        given_by_id=by.id if by else None,
        occasion=occasion,
    )
    db.session.add(receipt)
    db.session.flush()
    audit.record(
        "instructions.given",
        actor=by,
        obj=receipt,
        patient_id=patient.id,
        detail=f"{version.therapy}/{version.phase.value} v{version.version} at {occasion}",
    )
    return receipt


def record_discharge(
    patient: Patient, therapy: str, *, by: User | None
) -> InstructionVersion | None:
    """At discharge from the recovery room: the approved first-days text the patient goes home
    with (None, and nothing recorded, when no version is approved yet)."""
    version = newest_approved(therapy, Phase.DAYS_0_3)
    if version is not None:
        record_given(patient, version, by=by, occasion="discharge")
    return version


@dataclass(frozen=True)
class PatientInstructions:
    """What a patient reads: their treatment, the phase it is in today, the phase asked for,
    and the newest approved text of that phase (None when none is approved)."""

    treatment: context.Treatment
    current_phase: Phase
    phase: Phase
    shown: InstructionVersion | None


def instructions_for(
    patient: Patient, today: date, phase: Phase | None = None
) -> PatientInstructions:
    """The instructions for the phase asked for, or for today's phase of the latest treatment."""
    treatment = context.treatment_of(patient)
    current = phase_on(treatment.injected_on, today)
    phase = phase or current
    shown = newest_approved(treatment.therapy, phase) if treatment.therapy else None
    return PatientInstructions(treatment, current, phase, shown)


def receipts_for(patient: Patient) -> list[InstructionReceipt]:
    return db.session.scalars(
        sa.select(InstructionReceipt)
        .where(InstructionReceipt.patient_id == patient.id)
        .order_by(InstructionReceipt.given_at.desc())
    ).all()
