"""Where the journey meets the portal: questionnaires by protocol, instructions by phase,
the discharge receipt, and the patient's own journey page."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.instructions import services as instructions
from clinic.instructions.context import treatment_of
from clinic.journeys import models as m
from clinic.journeys import walkthrough as walk
from clinic.journeys.services import journeys as journey_services
from clinic.journeys.states import Therapy
from clinic.models.audit import AuditEvent
from clinic.outcomes.models import QuestionnaireResponse
from clinic.timeutil import clinic_today
from tests import factories


def _responses(db, patient):
    return db.session.scalars(
        sa.select(QuestionnaireResponse).where(QuestionnaireResponse.patient_id == patient.id)
    ).all()


def _approve_all() -> None:
    admin = factories.make_user(Role.ADMIN)
    for therapy in ("prp", "bmac", "adipose", "growth_factor"):
        for version in instructions.newest_for_therapy(therapy).values():
            instructions.approve(version, by=admin)


def _treated(journey, provider, staff, staff2, days_ago=0, discharge=True):
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    walk.process(journey, staff, staff2)
    stage = walk.inject(journey, provider, days_ago=days_ago)
    if discharge:
        walk.recover(journey, staff)
    return stage


def test_opening_a_journey_asks_for_baseline_questionnaires(db, journey):
    by_code = {r.instrument_code: r for r in _responses(db, journey.patient)}
    assert set(by_code) == {"nrs_pain", "nrs_radiating", "odi"}  # lumbar target → ODI
    assert all(r.timepoint == "baseline" and r.journey_id == journey.id for r in by_code.values())


def test_a_neck_journey_gets_the_neck_questionnaire(db, provider):
    condition = db.session.scalar(sa.select(m.Condition).where(m.Condition.code.like("M50%")))
    journey = journey_services.open_journey(
        factories.PatientFactory(),
        therapy=Therapy.PRP,
        provider=provider,
        condition_ids=[condition.id],
        targets=[("C5-C6", "left", "facet")],
        by=provider,
    )
    codes = {r.instrument_code for r in _responses(db, journey.patient)}
    assert "ndi" in codes and "odi" not in codes


def test_discharge_schedules_questionnaires_in_each_follow_up_window(
    db, journey, provider, staff, staff2
):
    _treated(journey, provider, staff, staff2)
    follow_ups = db.session.scalars(
        sa.select(m.FollowUp).where(m.FollowUp.journey_id == journey.id)
    ).all()
    responses = [r for r in _responses(db, journey.patient) if r.timepoint != "baseline"]
    injected = clinic_today()
    expected = {f.label: f for f in follow_ups if (f.due_on - injected).days >= 7}
    assert {r.timepoint for r in responses} == set(expected)
    assert len(expected) < len(follow_ups)  # the first-days call asks no questionnaires
    for response in responses:
        follow_up = expected[response.timepoint]
        assert (response.available_from, response.due_by) == (
            follow_up.window_opens_on,
            follow_up.window_closes_on,
        )
    assert "pgic" in {r.instrument_code for r in responses}


def test_instructions_follow_the_days_since_injection(
    client, db, journey, provider, staff, staff2, sign_in_as
):
    instructions.load_samples()
    _approve_all()
    _treated(journey, provider, staff, staff2, days_ago=5)
    treatment = treatment_of(journey.patient)
    assert treatment.therapy == "prp"
    assert treatment.injected_on == clinic_today() - timedelta(days=5)
    user = factories.make_user(Role.PATIENT, patient=journey.patient)
    sign_in_as(Role.PATIENT, user)
    html = client.get("/my/instructions").get_data(as_text=True)
    assert "Days four to fourteen" in html


def test_discharge_records_which_instructions_went_home(db, journey, provider, staff, staff2):
    instructions.load_samples()
    _approve_all()
    _treated(journey, provider, staff, staff2, discharge=False)
    stage = walk.recover(journey, staff)
    (receipt,) = instructions.receipts_for(journey.patient)
    assert receipt.occasion == "discharge"
    assert receipt.text_version.therapy == "prp" and receipt.text_version.phase.value == "days_0_3"
    record = db.session.get(m.RecoveryRecord, stage.id)
    assert record.instructions_version == "prp days 0-3 v1"


def test_my_journey_in_plain_words_without_notes(
    client, db, journey, provider, staff, staff2, sign_in_as
):
    _treated(journey, provider, staff, staff2)
    user = factories.make_user(Role.PATIENT, patient=journey.patient)
    sign_in_as(Role.PATIENT, user)
    html = client.get("/my/journey").get_data(as_text=True)
    assert "A blood sample is taken from your arm" in html
    assert "The injection, guided by imaging" in html
    assert "Check-in:" in html and "Coming up" in html
    assert "acknowledg" not in html.lower()  # nothing clinical leaks
    assert (
        db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "portal.journey_viewed")
        )
        .one()
        .patient_id
        == journey.patient_id
    )


def test_my_journey_shows_only_my_own(client, db, journey, sign_in_as):
    stranger = factories.make_user(Role.PATIENT)
    sign_in_as(Role.PATIENT, stranger)
    html = client.get("/my/journey").get_data(as_text=True)
    assert "has not started a treatment plan" in html


def test_my_journey_query_count_is_constant(
    client, db, make_journey, provider, staff, staff2, sign_in_as, count_queries
):
    def measure(journeys: int) -> int:
        patient = factories.PatientFactory()
        for _ in range(journeys):
            _treated(make_journey(patient=patient), provider, staff, staff2)
            db.session.flush()
        sign_in_as(Role.PATIENT, factories.make_user(Role.PATIENT, patient=patient))
        with count_queries() as counter:
            assert client.get("/my/journey").status_code == 200
        return counter.count

    assert measure(1) == measure(3)


def test_home_shows_the_current_instructions(
    client, db, journey, provider, staff, staff2, sign_in_as
):
    instructions.load_samples()
    _approve_all()
    _treated(journey, provider, staff, staff2, days_ago=1)
    sign_in_as(Role.PATIENT, factories.make_user(Role.PATIENT, patient=journey.patient))
    html = client.get("/my").get_data(as_text=True)
    assert "Days 0–3 after:</strong> The first three days" in html
