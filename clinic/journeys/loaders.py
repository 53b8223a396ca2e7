"""Load helpers for routes: 404 for a missing or mismatched record, 403 through the policy."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from clinic.extensions import db
from clinic.journeys import models as m
from clinic.patients.models import Patient
from clinic.policy import can_view_clinical, can_view_journey, ensure


def load_patient(patient_id: int) -> Patient:
    patient = db.get_or_404(Patient, patient_id)
    ensure(can_view_clinical(current_user, patient))
    return patient


def load_journey(journey_id: int) -> m.Journey:
    journey = db.get_or_404(m.Journey, journey_id)
    ensure(can_view_journey(current_user, journey))
    return journey


def load_stage(journey_id: int, stage_id: int) -> m.Stage:
    """A stage, reached only through its own journey (a mismatched pair is a 404)."""
    journey = load_journey(journey_id)
    stage = db.get_or_404(m.Stage, stage_id)
    if stage.journey_id != journey.id:
        abort(404)
    return stage


def load_specimen(journey_id: int, specimen_id: int) -> m.Specimen:
    journey = load_journey(journey_id)
    specimen = db.get_or_404(m.Specimen, specimen_id)
    if specimen.journey_id != journey.id:
        abort(404)
    return specimen
