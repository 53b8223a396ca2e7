"""Load helpers for routes: 404 for a missing or mismatched record, 403 through the policy.

A clinician outside the patient's care team gets the break-glass offer (`OutsideCareTeam`);
every chart, stage, specimen and follow-up route loads through here, so all answer alike.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort
from flask_login import current_user
from sqlalchemy.orm import joinedload

from clinic.extensions import db
from clinic.journeys import models as m
from clinic.patients.models import Patient
from clinic.policy import can_manage_journey, ensure, ensure_clinical_access


def load_patient(patient_id: int) -> Patient:
    patient = db.get_or_404(Patient, patient_id)
    ensure_clinical_access(current_user, patient)
    return patient


def load_journey(journey_id: int) -> m.Journey:
    """A journey with its patient (one statement: the access check reads the patient)."""
    journey = db.get_or_404(m.Journey, journey_id, options=[joinedload(m.Journey.patient)])
    ensure_clinical_access(current_user, journey.patient)
    return journey


def load_journey_to_manage(journey_id: int) -> m.Journey:
    """A journey for a provider-only decision (end, targets, diagnoses, repeat cycle)."""
    journey = load_journey(journey_id)
    ensure(
        can_manage_journey(current_user, journey),
        "Ending a journey, its target sites, diagnoses and repeat cycles are a provider's "
        "decisions.",
    )
    return journey


# Built once: making its loader options and cache key on every request cost more than the
# database took to answer.
_STAGE = (
    sa.select(m.Stage)
    .where(m.Stage.id == sa.bindparam("stage_id", type_=sa.Integer))
    .options(
        joinedload(m.Stage.journey).joinedload(m.Journey.patient),
        joinedload(m.Stage.cycle).joinedload(m.Cycle.stages),
    )
)


def load_stage(journey_id: int, stage_id: int) -> m.Stage:
    """A stage, reached only through its own journey (a mismatched pair is a 404), read in one
    statement with its journey, the patient (the access check reads it), its cycle and the
    cycle's stages (a stage's gating and its page look at its siblings)."""
    stage = db.session.scalars(_STAGE, {"stage_id": stage_id}).unique().first()
    if stage is None or stage.journey_id != journey_id:
        load_journey(journey_id)  # a missing journey, or the access refusal, answers first
        abort(404)
    ensure_clinical_access(current_user, stage.journey.patient)
    return stage


def load_specimen(journey_id: int, specimen_id: int) -> m.Specimen:
    journey = load_journey(journey_id)
    specimen = db.get_or_404(m.Specimen, specimen_id)
    if specimen.journey_id != journey.id:
        abort(404)
    return specimen


def load_follow_up(journey_id: int, follow_up_id: int) -> m.FollowUp:
    """A follow-up, reached only through its own journey."""
    journey = load_journey(journey_id)
    follow_up = db.get_or_404(m.FollowUp, follow_up_id)
    if follow_up.journey_id != journey.id:
        abort(404)
    return follow_up
