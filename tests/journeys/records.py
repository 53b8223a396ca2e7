"""A journey walked to collection, for tests that need real ids (the route × role matrix)."""

from __future__ import annotations

import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys import walkthrough as walk
from clinic.journeys.services import gating, journeys
from clinic.journeys.states import Therapy
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
    journey, _ = collected_journey()
    specimen = gating.specimen_of(journey.cycles[0])
    return dict(
        patient=journey.patient_id,
        journey=journey.id,
        stage=journey.evaluation.id,
        specimen=specimen.id,
    )
