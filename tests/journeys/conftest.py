"""Journey fixtures: a provider, clinical staff and a fresh journey in evaluation."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.careteam import services as careteam
from clinic.extensions import db as _db
from clinic.journeys import models as m
from clinic.journeys.services import journeys
from clinic.journeys.states import Therapy
from tests import factories


@pytest.fixture
def provider(db):
    return factories.make_user(Role.PROVIDER, full_name="Dr. Test Provider")


@pytest.fixture
def staff(db):
    return factories.make_user(Role.CLINICAL_STAFF, full_name="Nurse Test")


@pytest.fixture
def staff2(db):
    return factories.make_user(Role.CLINICAL_STAFF, full_name="Lab Tech Test")


def journey_maker(provider, team):
    """A function opening a lumbar disc journey for `provider` with `team` on its care team."""

    def _make(therapy: Therapy = Therapy.PRP, patient=None, by=None):
        condition = _db.session.scalar(sa.select(m.Condition).where(m.Condition.code == "M51.362"))
        journey = journeys.open_journey(
            patient or factories.PatientFactory(),
            therapy=therapy,
            provider=provider,
            condition_ids=[condition.id],
            targets=[("L4-L5", "midline", "disc")],
            by=by or provider,
        )
        for member in team:
            careteam.add_member(journey, member, provider)
        return journey

    return _make


@pytest.fixture
def make_journey(db, provider, staff, staff2):
    """Opens a journey for `provider`, with `staff` and `staff2` on its care team."""
    return journey_maker(provider, (staff, staff2))


@pytest.fixture
def journey(make_journey):
    return make_journey()
