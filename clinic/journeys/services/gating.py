"""Gating: why a stage cannot start, complete or be signed yet (empty list: it can)."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.models.catalog import ContraindicationKind
from clinic.journeys.models.custody import CustodyStep
from clinic.journeys.models.records import Decision
from clinic.journeys.services.journeys import record_of
from clinic.journeys.services.safety import discharge_needs_release
from clinic.journeys.services.screening import screen_of
from clinic.journeys.states import DONE_STAGE, JourneyStatus, StageKind, StageStatus, Therapy
from clinic.timeutil import clinic_today

PROCESSED_STATES = (CustodyStep.PROCESSED, CustodyStep.RELEASED)


def sibling(stage: m.Stage, kind: StageKind) -> m.Stage | None:
    """The live stage of this kind in the same cycle."""
    for other in stage.cycle.stages:
        if other.kind is kind and other.is_live:
            return other
    return None


def specimen_of(cycle: m.Cycle | None) -> m.Specimen | None:
    if cycle is None:
        return None
    return db.session.scalar(sa.select(m.Specimen).where(m.Specimen.cycle_id == cycle.id))


def consent_recorded(evaluation: m.EvaluationRecord) -> bool:
    return evaluation.consent_signed_at is not None and bool(evaluation.consent_form_version)


def start_blockers(stage: m.Stage) -> list[str]:
    """Reasons this pending stage may not start."""
    journey = stage.journey
    if stage.status is not StageStatus.PENDING:
        return [f"This stage is already {stage.status.label.lower()}."]
    if journey.status in (
        JourneyStatus.NOT_CANDIDATE,
        JourneyStatus.CANCELLED,
        JourneyStatus.COMPLETED,
    ):
        return [f"The journey has ended ({journey.status.label.lower()})."]
    kind = stage.kind
    if kind is StageKind.EVALUATION:
        return []
    if kind is StageKind.COLLECTION:
        return _collection_blockers(journey, stage.cycle)
    if kind is StageKind.PROCESSING:
        specimen = specimen_of(stage.cycle)
        if specimen is None or specimen.custody_state is CustodyStep.LABELLED:
            return ["Processing needs a collected specimen: complete the collection first."]
        if specimen.custody_state is CustodyStep.DISCARDED:
            return [f"Specimen {specimen.code} was discarded."]
        return []
    if kind is StageKind.INJECTION:
        return _injection_blockers(stage)
    injection = sibling(stage, StageKind.INJECTION)
    if injection is None or injection.status not in DONE_STAGE:
        return ["Recovery starts after the injection is completed."]
    return []


def _collection_blockers(journey: m.Journey, cycle: m.Cycle | None) -> list[str]:
    evaluation_stage = journey.evaluation
    if evaluation_stage is None or evaluation_stage.status not in DONE_STAGE:
        return ["Collection needs a completed evaluation."]
    evaluation = record_of(evaluation_stage)
    reasons = []
    if evaluation.decision is not Decision.CANDIDATE:
        reasons.append("Collection needs the evaluation's decision to be 'candidate'.")
    if not consent_recorded(evaluation):
        reasons.append("Collection needs recorded informed consent.")
    if reasons:
        return reasons

    screen = screen_of(cycle)
    if screen is None:
        reasons.append("Do today's procedure-day screen for this cycle first.")
    elif not screen.outcome.allows_procedure:
        reasons.append(f"The procedure-day screen is not cleared ({screen.outcome.label.lower()}).")
    return reasons


def _injection_blockers(stage: m.Stage) -> list[str]:
    specimen = specimen_of(stage.cycle)
    if specimen is None or specimen.custody_state not in PROCESSED_STATES:
        return ["Injection needs a processed product from this cycle's specimen."]
    if specimen.patient_id != stage.journey.patient_id:
        return [f"Specimen {specimen.code} belongs to another patient."]
    return []


def checklist_blockers(stage: m.Stage) -> list[str]:
    if stage.checklist_template is None:
        return []
    ticked = set(
        db.session.scalars(
            sa.select(m.ChecklistTick.item_id).where(m.ChecklistTick.stage_id == stage.id)
        )
    )
    missing = [i.text for i in stage.checklist_template.items if i.required and i.id not in ticked]
    if not missing:
        return []
    return [f"{len(missing)} required checklist item(s) are not ticked: " + "; ".join(missing)]


def complete_blockers(stage: m.Stage) -> list[str]:
    """Reasons this in-progress stage may not complete."""
    if stage.status is not StageStatus.IN_PROGRESS:
        return [f"Only a stage in progress can be completed (this one is {stage.status.label})."]
    record = record_of(stage)
    reasons = list(KIND_COMPLETION[stage.kind](stage, record))
    return reasons + checklist_blockers(stage)


def _evaluation(stage, record: m.EvaluationRecord) -> list[str]:
    kinds = {c.kind for c in record.contraindications}
    if ContraindicationKind.ABSOLUTE in kinds:
        return []  # completing ends the journey as not a candidate
    reasons = []
    if record.decision is None:
        reasons.append("Record the decision.")
    elif record.decision is Decision.MORE_WORKUP:
        reasons.append(
            "The decision is 'more work-up': keep the evaluation open until it is settled."
        )
    elif record.decision is Decision.CANDIDATE and not consent_recorded(record):
        reasons.append("Record the informed consent (form version and time signed).")
    if ContraindicationKind.RELATIVE in kinds and not (record.relative_acknowledgement or ""):
        reasons.append("A relative contraindication needs the provider's acknowledgement note.")
    return reasons


def _collection(stage, record: m.CollectionRecord) -> list[str]:
    reasons = []
    if not record.identifiers_checked:
        reasons.append("Confirm the two identifiers (name and date of birth) were checked.")
    if record.collected_at is None:
        reasons.append("Record when the specimen was collected.")
    return reasons


def _processing(stage, record: m.ProcessingRecord) -> list[str]:
    reasons = []
    if not record.tube_code:
        reasons.append("Scan or type the specimen ID from the tube.")
    if record.final_volume_ml is None:
        reasons.append("Record the final product volume.")
    if record.processed_by_id is None or record.verified_by_id is None:
        reasons.append("Record who processed the product and the second person who verified it.")
    elif record.verified_at is None:
        reasons.append("The second person must confirm the verification with their password.")
    if stage.journey.therapy is not Therapy.GROWTH_FACTOR:
        if not record.kit_lot or record.kit_expiry is None:
            reasons.append("Record the kit's lot and expiry date.")
        elif record.kit_expiry < clinic_today():
            reasons.append(f"The kit expired on {record.kit_expiry.isoformat()}.")
    return reasons


def _injection(stage, record: m.InjectionRecord) -> list[str]:
    reasons = []
    if record.timeout_confirmed_at is None:
        reasons.append("Complete the time-out with the syringe's specimen ID.")
    if not record.sites:
        reasons.append("Record at least one injected site.")
    if record.product_disposition is None:
        reasons.append("Record whether the product was used or discarded.")
    return reasons


def _recovery(stage, record: m.RecoveryRecord) -> list[str]:
    if not record.discharge_criteria_met:
        return ["Confirm the discharge criteria are met."]
    if discharge_needs_release(record):
        return [
            "The neurological or puncture-site check is not normal: a provider must record "
            "the release before the patient goes home."
        ]
    return []


KIND_COMPLETION: dict[StageKind, Callable[..., list[str]]] = {
    StageKind.EVALUATION: _evaluation,
    StageKind.COLLECTION: _collection,
    StageKind.PROCESSING: _processing,
    StageKind.INJECTION: _injection,
    StageKind.RECOVERY: _recovery,
}


def sign_blockers(stage: m.Stage) -> list[str]:
    if stage.status is not StageStatus.COMPLETED:
        return ["Only a completed stage can be signed."]
    return []
