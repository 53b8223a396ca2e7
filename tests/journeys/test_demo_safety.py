"""The demo shows each procedure-day safety feature: allergies and a blood thinner on a banner,
screens (one cleared by a provider's override), a site outside the plan, a provider's release,
and follow-ups created at discharge."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from clinic.demo import load_demo_data
from clinic.extensions import db as _db
from clinic.journeys import models as m
from clinic.journeys.models.screening import ScreenOutcome
from clinic.patients.models import PatientAllergy, PatientMedicine
from tests.conftest import savepoint_db


@pytest.fixture(scope="module")
def demo(app, module_connection) -> None:
    with app.app_context():
        load_demo_data()
        _db.session.commit()  # releases the session's savepoint; the module transaction stays
        _db.session.remove()


@pytest.fixture
def db(app, module_connection, demo):
    with savepoint_db(app, module_connection) as database:
        yield database


def test_demo_shows_each_safety_feature(db):
    count = lambda model, *where: db.session.scalar(  # noqa: E731
        sa.select(sa.func.count()).select_from(model).where(*where)
    )
    assert count(PatientAllergy) >= 3 and count(PatientMedicine) >= 2
    assert count(m.DayOfScreen, m.DayOfScreen.outcome == ScreenOutcome.OVERRIDDEN) == 1
    assert count(m.DayOfScreen, m.DayOfScreen.outcome == ScreenOutcome.CLEARED) >= 10
    assert count(m.InjectionSite, m.InjectionSite.off_plan_reason.is_not(None)) == 1
    assert count(m.RecoveryRecord, m.RecoveryRecord.released_by_id.is_not(None)) == 1
    released = db.session.scalar(
        sa.select(m.RecoveryRecord).where(m.RecoveryRecord.released_by_id.is_not(None))
    )
    stage = db.session.get(m.Stage, released.stage_id)
    labels = db.session.scalars(
        sa.select(m.FollowUp.label).where(m.FollowUp.cycle_id == stage.cycle_id)
    ).all()
    assert "Day 1-2 phone check" in labels
    from clinic.instructions.models import InstructionVersion, ReviewStatus

    approved = db.session.scalars(
        sa.select(InstructionVersion.therapy).where(
            InstructionVersion.review_status == ReviewStatus.APPROVED
        )
    ).all()
    assert set(approved) == {"prp"}  # the other therapies' patients are told to call
