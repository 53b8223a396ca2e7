"""A journey walked to collection, for tests that need real ids (the route × role matrix)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys import walkthrough as walk
from clinic.journeys.services import gating, journeys, screening
from clinic.journeys.states import Therapy
from clinic.patients.models import AntithromboticDrug
from tests import factories


def collected_journey():
    """(journey, provider): a PRP journey evaluated, consented and collected."""
    provider = factories.make_user(Role.PROVIDER)
    condition = db.session.scalar(sa.select(m.Condition).limit(1))
    journey = journeys.open_journey(
        factories.PatientFactory(),
        therapy=Therapy.PRP,
        provider=provider,
        condition_ids=[condition.id],
        targets=[("L4-L5", "midline", "disc")],
        by=provider,
    )
    walk.evaluate(journey, provider)
    walk.collect(journey, provider)
    return journey, provider


def placeholders() -> dict[str, int]:
    journey, provider = collected_journey()
    specimen = gating.specimen_of(journey.cycles[0])
    follow_up = m.FollowUp(
        patient_id=journey.patient_id,
        journey_id=journey.id,
        cycle_id=journey.cycles[0].id,
        label="2 weeks",
        due_on=date(2026, 6, 15),
        window_opens_on=date(2026, 6, 12),
        window_closes_on=date(2026, 6, 19),
    )
    db.session.add(follow_up)
    db.session.flush()
    allergy = screening.add_allergy(journey.patient, "Latex", "Hives", provider)
    medicine = screening.add_medicine(
        journey.patient, AntithromboticDrug.ASPIRIN, "Aspirin 81 mg", None, provider
    )
    return dict(
        cycle=journey.cycles[0].id,
        allergy=allergy.id,
        medicine=medicine.id,
        journey_patient=journey.patient_id,
        journey=journey.id,
        stage=journey.evaluation.id,
        specimen=specimen.id,
        follow_up=follow_up.id,
    )
