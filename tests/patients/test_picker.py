"""The patient picker: a plain search form that shows who each patient is before choosing,
its search-as-you-type JSON, and the pages that use it (booking, slot finder, recalls, journeys)."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.models.audit import AuditEvent
from tests.factories import PatientFactory


def _people():
    return [
        PatientFactory(
            given_name="Grace",
            family_name="Okafor",
            date_of_birth=date(1968, 4, 12),
            phone="617 555 0142",
        ),
        PatientFactory(given_name="Erik", family_name="Okafor", date_of_birth=date(1975, 9, 3)),
    ]


def test_the_booking_page_without_a_patient_offers_a_plain_search_form(client, login, db):
    login(Role.FRONT_DESK)
    grace, _ = _people()
    html = client.get("/schedule/book?kind=evaluation&find=okafor").get_data(as_text=True)
    assert 'name="find"' in html and 'value="okafor"' in html
    # each result shows name, birth date, MRN and phone, and links back with the patient chosen
    assert "Okafor, Grace" in html and "born 12 Apr 1968" in html and grace.mrn in html
    assert "617 555 0142" in html and "Okafor, Erik" in html
    assert f"/schedule/book?kind=evaluation&amp;patient={grace.id}" in html
    assert 'name="patient_mrn"' not in html  # nobody is chosen yet
    assert "Choose the patient above before booking" in html
    assert 'src="/static/js/patient-picker.js?v=' in html and "<script>" not in html


def test_a_chosen_patient_is_shown_before_book_and_posted_by_mrn(client, login, db):
    login(Role.FRONT_DESK)
    grace, _ = _people()
    html = client.get(f"/schedule/book?kind=evaluation&patient={grace.id}").get_data(as_text=True)
    assert 'id="picker-chosen"' in html and "Okafor, Grace" in html and "born 12 Apr 1968" in html
    assert f'<input type="hidden" name="patient_mrn" value="{grace.mrn}">' in html
    assert f"Booking for Grace Okafor, born 12 Apr 1968, MRN {grace.mrn}" in html
    assert 'href="/schedule/book?kind=evaluation"' in html  # choose another patient


def test_booking_without_a_patient_asks_to_choose_one(client, login, db):
    login(Role.FRONT_DESK)
    response = client.post_form("/schedule/book", {"kind": "evaluation", "notes": "kept"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="patient_mrn-error"' in html and "Choose the patient first" in html


def test_pick_json_lists_who_matches_and_is_audited(client, login, db):
    login(Role.FRONT_DESK)
    grace, _ = _people()
    data = client.get("/patients/pick.json?q=okafor").get_json()
    assert [p["name"] for p in data["patients"]] == ["Okafor, Erik", "Okafor, Grace"]
    first = data["patients"][1]
    assert first == {
        "id": grace.id,
        "mrn": grace.mrn,
        "name": "Okafor, Grace",
        "full_name": "Grace Okafor",
        "born": "1968-04-12",
        "phone": "617 555 0142",
    }
    assert client.get("/patients/pick.json?q=").get_json() == {"patients": []}
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "patient.searched"))
    assert event is not None and "picker" in event.detail


def test_pick_json_is_for_staff_only(client, login, db):
    assert client.get("/patients/pick.json?q=okafor").status_code == 302  # to sign-in
    login(Role.PATIENT)
    assert client.get("/patients/pick.json?q=okafor").status_code == 403


def test_the_slot_finder_keeps_the_chosen_patient(client, login, db):
    login(Role.FRONT_DESK)
    grace, _ = _people()
    html = client.get(f"/schedule/slots?patient={grace.id}").get_data(as_text=True)
    assert 'id="picker-chosen"' in html and grace.mrn in html
    assert f'name="patient_mrn" value="{grace.mrn}"' in html
    found = client.get("/schedule/slots?find=grace%20oka").get_data(as_text=True)
    assert f"/schedule/slots?patient={grace.id}" in found


def test_recalls_can_be_narrowed_to_one_chosen_patient(client, login, db):
    login(Role.FRONT_DESK)
    grace, _ = _people()
    html = client.get(f"/schedule/recalls?patient={grace.id}").get_data(as_text=True)
    assert 'id="picker-chosen"' in html and f'name="patient" value="{grace.id}"' in html
    assert "0 follow-ups to book" in html


def test_a_provider_picks_the_patient_to_open_a_journey_for(client, login, db):
    login(Role.PROVIDER)
    grace, _ = _people()
    html = client.get("/patients/choose/journey?find=1968-04-12").get_data(as_text=True)
    assert "Okafor, Grace" in html and "Okafor, Erik" not in html
    chosen = client.get(f"/patients/choose/journey?patient={grace.id}")
    assert chosen.status_code == 302
    assert chosen.headers["Location"].endswith(f"/patients/{grace.id}/journeys/new")
