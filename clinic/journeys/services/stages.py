"""Stage work: start, save a draft, complete, sign, reopen, cancel and void."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from clinic.auth.models import User
from clinic.errors import Refused, StaleWrite
from clinic.extensions import db
from clinic.instructions.services import record_discharge
from clinic.journeys import models as m
from clinic.journeys.models.catalog import ContraindicationKind
from clinic.journeys.models.custody import CustodyStep
from clinic.journeys.models.records import Decision
from clinic.journeys.services import (
    checklists,
    followups,
    gating,
    safety,
    specimens,
    verification,
)
from clinic.journeys.services.derived import compute_processing
from clinic.journeys.services.journeys import not_a_candidate, open_cycle, record_of
from clinic.journeys.states import (
    JourneyStatus,
    StageKind,
    StageStatus,
    move_journey,
    move_stage,
)
from clinic.models import audit
from clinic.models.base import utcnow
from clinic.policy import can_sign_stage, sign_refusal, stage_work_refusal


def _audit(action: str, stage: m.Stage, by: User, detail: str | None = None) -> None:
    audit.record(
        action,
        actor=by,
        obj=stage,
        patient_id=stage.journey.patient_id,
        detail=detail or stage.kind.value,
    )
    db.session.flush()


def _require_worker(stage: m.Stage, by: User) -> None:
    refusal = stage_work_refusal(by, stage)
    if refusal:
        raise Refused(refusal)


def _refuse(reasons: list[str]) -> None:
    if reasons:
        raise Refused(" ".join(reasons))


def check_version(stage: m.Stage, version: int | None) -> None:
    if version is not None and int(version) != stage.version:
        raise StaleWrite()


def start_stage(stage: m.Stage, by: User, version: int | None = None) -> None:
    """Pending → in progress, once gating allows; fixes the checklist version it will use."""
    _require_worker(stage, by)
    check_version(stage, version)
    _refuse(gating.start_blockers(stage))
    move_stage(stage, StageStatus.IN_PROGRESS, by)
    stage.checklist_template = checklists.current_template(stage.kind, stage.journey.therapy)
    if stage.kind is StageKind.COLLECTION and gating.specimen_of(stage.cycle) is None:
        specimens.label_specimen(stage, by)
    elif stage.kind is StageKind.PROCESSING:
        specimens.hand_off(gating.specimen_of(stage.cycle), CustodyStep.RECEIVED, by)
    elif stage.kind is StageKind.INJECTION:
        specimens.hand_off(gating.specimen_of(stage.cycle), CustodyStep.RELEASED, by)
    _audit("stage.started", stage, by)


def time_out(
    stage: m.Stage,
    entered_code: str,
    members: list[tuple[User | None, str | None]],
    by: User,
    *,
    checklist_read: bool = False,
    checklist_id: int | None = None,
) -> None:
    """The injection's time-out as one step: it starts a pending injection (the same gating,
    refusals and audit as starting it alone), ticks the checklist the team read aloud, then
    checks the syringe's ID and the team (`specimens.confirm_time_out`). A refusal anywhere
    undoes all of it; only a hard stop's audit row stays."""
    _require_worker(stage, by)
    if stage.kind is not StageKind.INJECTION:
        raise Refused("Only an injection has a time-out.")
    if stage.status is StageStatus.PENDING:
        start_stage(stage, by)
    if stage.status is not StageStatus.IN_PROGRESS:
        raise Refused(f"This injection is {stage.status.label.lower()}: no time-out now.")
    if record_of(stage).timeout_confirmed_at is not None:
        raise Refused("The time-out is already confirmed.")
    if checklist_read:
        checklists.confirm_read_aloud(stage, checklist_id, by)
    blockers = gating.checklist_blockers(stage)
    if blockers:
        raise Refused(
            "Read the time-out checklist aloud with the team, then tick that you confirmed "
            "every item. " + blockers[0],
            field="checklist_read",
        )
    specimens.confirm_time_out(stage, entered_code, members, by)


def save_stage(
    stage: m.Stage,
    values: dict[str, Any],
    by: User,
    version: int | None = None,
    *,
    verifier_password: str | None = None,
) -> None:
    """Save the stage's typed fields as a draft (starting a pending stage first); a newly
    chosen product verifier confirms with their own password (or is the signed-in user)."""
    _require_worker(stage, by)
    check_version(stage, version)
    if stage.is_locked:
        raise Refused("This stage is signed or closed; add an addendum instead.")
    if stage.status is StageStatus.COMPLETED:
        raise Refused("Reopen the completed stage before changing it.")
    if stage.status is StageStatus.PENDING:
        start_stage(stage, by)
    record = record_of(stage)
    contraindication_ids = values.pop("contraindication_ids", None)
    chosen = None
    if contraindication_ids is not None:
        chosen = list(
            db.session.scalars(
                sa.select(m.Contraindication).where(m.Contraindication.id.in_(contraindication_ids))
            )
        )
    with db.session.no_autoflush:  # check the rules between fields before anything is written
        release_before = getattr(record, "release_note", None)
        verifier_before = getattr(record, "verified_by_id", None)
        for name, value in values.items():
            if not hasattr(record, name) or name in PROTECTED:
                raise ValueError(f"{name} is not a field of the {stage.kind.value} record")
            setattr(record, name, value)
        if chosen is not None:
            record.contraindications = chosen
        _check_record(record)
        safety.check_timeline(stage, record)
        if isinstance(record, m.ProcessingRecord):
            record.tube_code = specimens.check_tube(stage, record.tube_code, by)
            safety.check_kit(record)
            safety.settle_leukocytes(stage, record)
            if record.verified_by_id is None:
                record.verified_at = None
            elif record.verified_by_id != verifier_before or record.verified_at is None:
                verification.verify_product(stage, record, verifier_password, by)
        if isinstance(record, m.RecoveryRecord):
            safety.check_blood_pressure(record)
            safety.settle_release(record, release_before, by)
    if stage.kind is StageKind.PROCESSING:
        compute_processing(stage, record)
    stage.updated_at = utcnow()  # bumps the version even when only the record changed
    db.session.flush()
    _audit("stage.saved", stage, by)


PROTECTED = ("stage_id", "released_by_id", "verified_at")


def _check_record(record) -> None:
    """The rules between fields (mirrored by CHECK constraints), as messages beside the field."""
    if isinstance(record, m.EvaluationRecord):
        if record.decision is Decision.NOT_CANDIDATE and not record.decision_reason:
            raise Refused(
                "Give the reason the patient is not a candidate.", field="decision_reason"
            )
        if (record.consent_signed_at is None) != (not record.consent_form_version):
            raise Refused(
                "Record both the consent form version and when it was signed.",
                field="consent_form_version"
                if not record.consent_form_version
                else "consent_signed_at",
            )
    processing = isinstance(record, m.ProcessingRecord) and record.processed_by_id is not None
    if processing and record.processed_by_id == record.verified_by_id:
        raise Refused("A second person verifies the product.", field="verified_by_id")
    if isinstance(record, m.InjectionRecord):
        if record.product_disposition == "discarded" and not record.discard_reason:
            raise Refused("Give the reason the product was discarded.", field="discard_reason")
        ended, started = record.procedure_ended_at, record.procedure_started_at
        if ended and started and ended < started:
            raise Refused("The end is before the start.", field="procedure_ended_at")


def reopen_refusal(stage: m.Stage) -> str | None:
    """Why this completed stage cannot be reopened for correction, or None."""
    if stage.status is not StageStatus.COMPLETED:
        return "Only a completed, unsigned stage can be reopened."
    if stage.kind is StageKind.EVALUATION and stage.journey.status is not JourneyStatus.EVALUATING:
        return "The candidacy decision has been acted on; add a note, or an addendum once signed."
    if stage.kind in (StageKind.COLLECTION, StageKind.PROCESSING, StageKind.INJECTION):
        return "Custody has moved on from this stage; add a note, or an addendum once signed."
    return None


def complete_stage(stage: m.Stage, by: User, version: int | None = None) -> None:
    """In progress → completed, once its fields and required checklist items are complete."""
    _require_worker(stage, by)
    check_version(stage, version)
    _refuse(gating.complete_blockers(stage))
    move_stage(stage, StageStatus.COMPLETED, by)
    record = record_of(stage)
    if stage.kind is StageKind.EVALUATION:
        _settle_candidacy(stage, record, by)
    elif stage.kind is StageKind.COLLECTION:
        specimens.record_collection(stage, record, by)
    elif stage.kind is StageKind.PROCESSING:
        specimens.hand_off(gating.specimen_of(stage.cycle), CustodyStep.PROCESSED, by)
    elif stage.kind is StageKind.INJECTION:
        step = (
            CustodyStep.DISCARDED
            if record.product_disposition == "discarded"
            else CustodyStep.ADMINISTERED
        )
        specimens.hand_off(gating.specimen_of(stage.cycle), step, by, record.discard_reason)
    elif stage.kind is StageKind.RECOVERY:
        _give_discharge_instructions(stage, record, by)
        _start_follow_ups(stage, by)
    _audit("stage.completed", stage, by)


def _start_follow_ups(recovery: m.Stage, by: User) -> None:
    """At discharge: the day 1–2 call and the protocol's follow-ups, once per cycle."""
    injection = gating.sibling(recovery, StageKind.INJECTION)
    if injection is None or followups.has_follow_ups(recovery.cycle):
        return
    followups.generate_follow_ups(injection, by)
    if recovery.journey.status is JourneyStatus.IN_TREATMENT:
        move_journey(recovery.journey, JourneyStatus.FOLLOW_UP)


def _give_discharge_instructions(stage: m.Stage, record: m.RecoveryRecord, by: User) -> None:
    """Record which version of the written instructions went home with the patient."""

    journey = stage.journey
    version = record_discharge(journey.patient, journey.therapy.value, by=by)
    if version is not None and not record.instructions_version:
        record.instructions_version = f"{journey.therapy.value} days 0-3 v{version.version}"


def _settle_candidacy(stage: m.Stage, record: m.EvaluationRecord, by: User) -> None:
    absolute = [
        c.label for c in record.contraindications if c.kind is ContraindicationKind.ABSOLUTE
    ]
    journey = stage.journey
    if absolute:
        reason = "Absolute contraindication: " + "; ".join(absolute)
        record.decision = Decision.NOT_CANDIDATE
        record.decision_reason = (record.decision_reason or reason)[:500]
        not_a_candidate(journey, reason[:500], by)
    elif record.decision is Decision.NOT_CANDIDATE:
        not_a_candidate(journey, record.decision_reason or "Not a candidate", by)
    elif record.decision is Decision.CANDIDATE and journey.status is JourneyStatus.EVALUATING:
        move_journey(journey, JourneyStatus.IN_TREATMENT)
        open_cycle(journey, by)


def sign_stage(stage: m.Stage, by: User, version: int | None = None) -> None:
    """Completed → signed: the record locks (follow-ups start at discharge, not here)."""
    if refusal := sign_refusal(by, stage):
        raise Refused(refusal)
    check_version(stage, version)
    _refuse(gating.sign_blockers(stage))
    move_stage(stage, StageStatus.SIGNED, by)
    _audit("stage.signed", stage, by)


def reopen_stage(stage: m.Stage, by: User, version: int | None = None) -> None:
    """Completed (not yet signed) → in progress, to correct it before sign-off."""
    _require_worker(stage, by)
    check_version(stage, version)
    refusal = reopen_refusal(stage)
    if refusal:
        raise Refused(refusal)
    move_stage(stage, StageStatus.IN_PROGRESS, by)
    _audit("stage.reopened", stage, by)


def end_stage(stage: m.Stage, target: StageStatus, reason: str, by: User) -> None:
    """Cancel an open stage, or void a completed or signed one; both keep the reason."""
    if target is StageStatus.VOIDED and not can_sign_stage(by, stage):
        raise Refused("Only a provider voids a stage.")
    if target is StageStatus.CANCELLED:
        _require_worker(stage, by)
    if not (reason or "").strip():
        raise Refused("Give the reason.", field="reason")
    move_stage(stage, target, by)
    stage.end_reason = reason.strip()[:300]
    _audit(f"stage.{target.value}", stage, by)
