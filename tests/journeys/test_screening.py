"""Allergies and blood thinners as patient data, the banner on clinical pages, the day-of screen
(washout by procedure risk, infection, pregnancy, consent age, measured values, overrides) and
absolute contraindications carried to the next journey."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.errors import Refused
from clinic.journeys import models as m
from clinic.journeys import walkthrough as walk
from clinic.journeys.models.records import Decision
from clinic.journeys.models.screening import ProcedureRisk, ScreenOutcome
from clinic.journeys.services import gating, journeys, screening
from clinic.journeys.states import StageKind, Therapy
from clinic.models.audit import AuditEvent
from clinic.models.base import utcnow
from clinic.patients.models import AntithromboticDrug, PatientMedicine
from clinic.scheduling.models import VisitKind
from tests import factories
from tests.scheduling.factories import make_appointment


def _chart(client, patient) -> str:
    return client.get(f"/clinical/patients/{patient.id}/chart").get_data(as_text=True)


def test_allergies_and_blood_thinners_are_recorded_and_shown_on_the_banner(
    client, login, journey, provider, staff, db
):
    login(Role.CLINICAL_STAFF, staff)
    patient = journey.patient
    response = client.post_form(
        f"/clinical/patients/{patient.id}/allergies",
        {"substance": "Iodinated contrast", "reaction": "Hives and wheeze"},
    )
    assert response.status_code == 302
    response = client.post_form(
        f"/clinical/patients/{patient.id}/medicines",
        {"drug": "apixaban", "name": "Apixaban 5 mg twice daily", "last_dose_at": ""},
    )
    assert response.status_code == 302
    for path in (
        f"/clinical/patients/{patient.id}/chart",
        f"/clinical/journeys/{journey.id}/stages/{journey.evaluation.id}",
        f"/patients/{patient.id}/outcomes",
    ):
        html = client.get(path).get_data(as_text=True)
        assert 'id="patient-banner"' in html and "sticky-top" in html
        assert "Iodinated contrast" in html and "Hives and wheeze" in html
        assert "Apixaban 5 mg twice daily" in html and "last dose not recorded" in html
        born = patient.date_of_birth
        assert patient.mrn in html and f"{born.day} {born:%b %Y}" in html
    (allergy,) = screening.allergies(patient)
    client.post_form(f"/clinical/patients/{patient.id}/allergies/{allergy.id}/remove", {})
    db.session.refresh(allergy)
    assert screening.allergies(patient) == []
    assert allergy.removed_by_id == staff.id  # kept, not deleted


def _submission_key(html: str) -> str:
    return re.search(r'name="submission_key" value="([^"]+)"', html).group(1)


def test_a_double_sent_allergy_or_medicine_is_recorded_once(client, login, journey, staff, db):
    login(Role.CLINICAL_STAFF, staff)
    patient = journey.patient
    chart = _chart(client, patient)
    keys = re.findall(r'name="submission_key" value="([^"]+)"', chart)
    assert len(keys) == 2  # the allergy form and the medicine form each carry one
    for _ in range(2):  # a double click
        response = client.post_form(
            f"/clinical/patients/{patient.id}/allergies",
            {"substance": "Latex", "reaction": "Rash", "submission_key": keys[0]},
        )
        assert response.status_code == 302
        response = client.post_form(
            f"/clinical/patients/{patient.id}/medicines",
            {"drug": "aspirin", "name": "Aspirin 81 mg", "submission_key": keys[1]},
        )
        assert response.status_code == 302
    assert [a.substance for a in screening.allergies(patient)] == ["Latex"]
    count = sa.select(sa.func.count()).select_from(PatientMedicine)
    assert db.session.scalar(count.where(PatientMedicine.patient_id == patient.id)) == 1


def test_a_refused_medicine_keeps_the_entry_with_the_reason_beside_the_field(
    client, login, journey, staff, db
):
    login(Role.CLINICAL_STAFF, staff)
    patient = journey.patient
    key = _submission_key(_chart(client, patient))
    future = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post_form(
        f"/clinical/patients/{patient.id}/medicines",
        {
            "drug": "warfarin",
            "name": "Warfarin 5 mg",
            "last_dose_at": future,
            "submission_key": key,
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="last_dose_at-error"' in html
    assert 'value="Warfarin 5 mg"' in html and '<option selected value="warfarin">' in html
    response = client.post_form(
        f"/clinical/patients/{patient.id}/allergies", {"substance": "Latex", "reaction": " "}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="reaction-error"' in html and 'value="Latex"' in html
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(PatientMedicine)
            .where(PatientMedicine.patient_id == patient.id)
        )
        == 0
    )
    # the refused post's key was not spent: the corrected form goes through with it
    response = client.post_form(
        f"/clinical/patients/{patient.id}/medicines",
        {"drug": "warfarin", "name": "Warfarin 5 mg", "last_dose_at": "", "submission_key": key},
    )
    assert response.status_code == 302


def test_procedure_risk_comes_from_the_planned_structures(db, journey):
    assert screening.procedure_risk(journey) is ProcedureRisk.HIGH  # L4-L5 disc
    journey.targets[0].structure = "facet"
    assert screening.procedure_risk(journey) is ProcedureRisk.INTERMEDIATE
    journey.targets[0].structure = "si_joint"
    assert screening.procedure_risk(journey) is ProcedureRisk.LOW


def test_a_blood_thinner_inside_its_washout_needs_a_providers_override(
    db, journey, provider, staff
):
    walk.evaluate(journey, provider)
    screening.add_medicine(
        journey.patient,
        AntithromboticDrug.APIXABAN,
        "Apixaban 5 mg",
        utcnow() - timedelta(days=1),
        staff,
    )
    screen = walk.screen(journey, staff)
    assert screen.outcome is ScreenOutcome.NEEDS_OVERRIDE
    assert "hold before a high risk procedure is 3 days" in screen.findings
    collection = walk.stage_of(journey, StageKind.COLLECTION)
    assert "not cleared" in gating.start_blockers(collection)[0]
    with pytest.raises(Refused, match="Only a provider"):
        walk.screen(journey, staff, override_reason="Patient says it is fine")
    screen = walk.screen(journey, provider, override_reason="Haematology agreed; low-dose only")
    assert screen.outcome is ScreenOutcome.OVERRIDDEN and screen.override_by_id == provider.id
    assert gating.start_blockers(collection) == []
    actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert "screen.needs_override" in actions and "screen.overridden" in actions


def test_a_dose_outside_the_washout_clears(db, journey, provider, staff):
    walk.evaluate(journey, provider)
    screening.add_medicine(
        journey.patient, AntithromboticDrug.APIXABAN, "", utcnow() - timedelta(days=4), staff
    )
    assert walk.screen(journey, staff).outcome is ScreenOutcome.CLEARED


@pytest.mark.parametrize(
    ("values", "finding"),
    [
        (dict(infection_signs=True), "infection"),
        (dict(pregnancy="positive"), "Pregnancy"),
        (dict(medicines_confirmed=False), "confirm"),
    ],
)
def test_hard_stops_cannot_be_overridden(db, journey, provider, values, finding):
    walk.evaluate(journey, provider)
    screen = walk.screen(journey, provider, override_reason="I accept the risk", **values)
    assert screen.outcome is ScreenOutcome.STOPPED and finding in screen.findings
    assert screen.override_reason is None


def test_consent_older_than_the_clinics_limit_stops_the_procedure(app, db, journey, provider):
    walk.evaluate(journey, provider)
    evaluation = journeys.record_of(journey.evaluation)
    evaluation.consent_signed_at = utcnow() - timedelta(days=200)
    screen = walk.screen(journey, provider)
    assert screen.outcome is ScreenOutcome.STOPPED and "older than 180 days" in screen.findings
    app.config["CONSENT_VALID_DAYS"] = 365
    try:
        assert walk.screen(journey, provider).outcome is ScreenOutcome.CLEARED
    finally:
        del app.config["CONSENT_VALID_DAYS"]


def test_measured_values_are_flagged_against_the_catalogue(db, journey, provider):
    walk.evaluate(journey, provider)
    screen = walk.screen(journey, provider, platelets=Decimal(80), hb=Decimal("12.5"))
    assert screen.outcome is ScreenOutcome.NEEDS_OVERRIDE
    assert "Platelets below 100" in screen.findings and "measured 80" in screen.findings
    assert "Haemoglobin" not in screen.findings
    screen = walk.screen(journey, provider, inr=Decimal("2.1"))
    assert "INR above 1.5" in screen.findings
    assert walk.screen(journey, provider, platelets=Decimal(100)).outcome is ScreenOutcome.CLEARED


def test_an_absolute_contraindication_is_carried_to_the_next_journey_until_reviewed(
    client, login, db, make_journey, provider
):
    first = make_journey()
    walk.evaluate(
        first,
        provider,
        decision=Decision.NOT_CANDIDATE,
        contraindications=("cancer",),
        reason="Lesion at the level",
    )
    patient = first.patient
    with pytest.raises(Refused, match="not been reviewed"):
        make_journey(patient=patient)
    # The patient comes back for an evaluation today: that visit puts the provider on the
    # care team (the closed journey no longer does).
    make_appointment(
        patient=patient, provider=provider, kind=VisitKind.EVALUATION, starts_at=utcnow()
    )
    login(Role.PROVIDER, provider)
    html = _chart(client, patient)
    assert "Absolute contraindication (not yet reviewed)" in html
    # an empty review, and one too long: the chart again, the reason beside this journey's
    # box and what was written kept; nothing recorded
    url = f"/clinical/journeys/{first.id}/contraindication-review"
    for note, reason in (("   ", "Write what you reviewed"), ("Biopsy: " + "b" * 600, "500")):
        response = client.post_form(
            url, {"note": note}, token_from=f"/clinical/patients/{patient.id}/chart"
        )
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        box = page[page.index(f'id="review-{first.id}"') :]
        assert 'aria-invalid="true"' in box[: box.index(">")]
        assert reason in box[: box.index("</div>")]
        if note.strip():
            assert note in box  # kept as written
    assert "Absolute contraindication (not yet reviewed)" in _chart(client, patient)
    response = client.post_form(
        f"/clinical/journeys/{first.id}/contraindication-review",
        {"note": "Oncology: lesion benign on biopsy, cleared to treat"},
    )
    assert response.status_code == 302
    assert "Absolute contraindication (reviewed)" in _chart(client, patient)
    second = make_journey(patient=patient, therapy=Therapy.BMAC)
    assert second.patient_id == patient.id


def test_the_screen_page_saves_and_shows_the_outcome(client, login, db, journey, provider):
    walk.evaluate(journey, provider)
    cycle = journey.cycles[0]
    login(Role.PROVIDER, provider)
    url = f"/clinical/journeys/{journey.id}/cycles/{cycle.id}/screen"
    page = client.get(url).get_data(as_text=True)
    assert "bleeding risk: <strong>high risk</strong>" in page
    response = client.post_form(
        url,
        {
            "allergies_confirmed": "y",
            "medicines_confirmed": "y",
            "pregnancy": "negative",
            "lists_seen": _lists_seen(page),
        },
    )
    assert response.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert 'id="screen-outcome"' in page and "Cleared" in page
    assert screening.screen_of(cycle).outcome is ScreenOutcome.CLEARED
    response = client.post_form(url, {"pregnancy": "negative", "platelets": "999999"})
    assert response.status_code == 422  # out of range, beside the field
    other = make_other_cycle(db, provider)
    assert client.get(f"/clinical/journeys/{journey.id}/cycles/{other}/screen").status_code == 404


def test_a_screen_saved_from_an_older_page_does_not_clear_a_newer_stop(
    client, login, db, journey, provider, staff
):
    """Two open pages: a colleague records signs of infection (a stop); a save from the page
    opened before it is a conflict, not a silent 'Cleared'."""
    walk.evaluate(journey, provider)
    cycle = journey.cycles[0]
    login(Role.CLINICAL_STAFF, staff)
    url = f"/clinical/journeys/{journey.id}/cycles/{cycle.id}/screen"
    page = client.get(url).get_data(as_text=True)
    assert 'name="version" type="hidden" value=""' in page
    clean = {
        "allergies_confirmed": "y",
        "medicines_confirmed": "y",
        "pregnancy": "negative",
        "lists_seen": _lists_seen(page),
    }
    stop = client.post_form(url, {**clean, "infection_signs": "y", "version": ""})
    assert stop.status_code == 302
    assert screening.screen_of(cycle).outcome is ScreenOutcome.STOPPED
    stale = client.post_form(url, {**clean, "version": ""})  # the page opened before the stop
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "Someone else saved this screen after you opened it" in html
    assert "<td>Stopped</td>" in html and "Signs of infection today" in html
    screen = screening.screen_of(cycle)
    assert screen.outcome is ScreenOutcome.STOPPED and screen.infection_signs
    assert f'name="version" type="hidden" value="{screen.version}"' in html
    again = client.post_form(url, {**clean, "version": str(screen.version)})  # seen, then saved
    assert again.status_code == 302
    db.session.expire_all()
    assert screening.screen_of(cycle).outcome is ScreenOutcome.CLEARED


def _lists_seen(page: str) -> str:
    return re.search(r'name="lists_seen" type="hidden" value="([^"]*)"', page)[1]


def test_allergies_confirmed_on_a_screen_opened_before_a_new_allergy_is_a_conflict(
    client, login, db, journey, provider, staff
):
    """A colleague records a contrast allergy after the screen was opened: ticking "allergies
    gone through with the patient" on that page would vouch for a list never shown."""
    walk.evaluate(journey, provider)
    cycle = journey.cycles[0]
    login(Role.CLINICAL_STAFF, staff)
    url = f"/clinical/journeys/{journey.id}/cycles/{cycle.id}/screen"
    opened = _lists_seen(client.get(url).get_data(as_text=True))
    screening.add_allergy(journey.patient, "Iodinated contrast", "hives", provider)
    db.session.flush()
    confirmed = {
        "allergies_confirmed": "y",
        "medicines_confirmed": "y",
        "pregnancy": "negative",
        "version": "",
    }
    stale = client.post_form(url, {**confirmed, "lists_seen": opened})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "Allergies and medicines" in html and "read them again with the patient" in html
    assert screening.screen_of(cycle) is None
    unsaid = client.post_form(url, confirmed)  # no list said at all
    assert unsaid.status_code == 409
    fresh = _lists_seen(html)
    assert fresh != opened
    assert client.post_form(url, {**confirmed, "lists_seen": fresh}).status_code == 302
    assert screening.screen_of(cycle).allergies_confirmed


def make_other_cycle(db, provider) -> int:
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
    return journey.cycles[0].id


def test_consent_lists_the_therapys_risks_and_regulatory_status(
    client, login, db, make_journey, staff
):
    journey = make_journey(Therapy.BMAC)
    login(Role.CLINICAL_STAFF, staff)  # on the journey's care team
    html = client.get(f"/clinical/journeys/{journey.id}/consent").get_data(as_text=True)
    assert 'id="regulatory-status"' in html and "1271.15(b)" in html
    for risk in (
        "Nerve injury",
        "haematoma",
        "dural puncture",
        "discitis",
        "Allergic reaction",
        "vasovagal",
        "Radiation exposure",
        "harvest site",
        "varies from person to person",
    ):
        assert risk in html, risk
    prp = screening.consent_terms(Therapy.PRP)
    assert not any("harvest" in r for r in prp.risks)  # a blood draw, not a harvest
    risk = db.session.scalar(
        sa.select(m.ConsentRisk).where(m.ConsentRisk.therapy == Therapy.BMAC).limit(1)
    )
    risk.active = False  # kept as data: the clinic edits the list
    db.session.flush()
    assert risk.text not in screening.consent_terms(Therapy.BMAC).risks


def test_a_low_baseline_platelet_count_at_collection_is_flagged(
    client, login, db, journey, provider, staff
):
    walk.evaluate(journey, provider)
    stage = walk.collect(journey, staff, complete=False)
    login(Role.CLINICAL_STAFF, staff)
    url = f"/clinical/journeys/{journey.id}/stages/{stage.id}"
    assert 'id="measured-flags"' not in client.get(url).get_data(as_text=True)  # 250
    walk.stages.save_stage(stage, dict(baseline_platelets=Decimal(80)), staff)
    page = client.get(url).get_data(as_text=True)
    assert 'id="measured-flags"' in page and "Platelets below 100" in page
