"""A create form sent twice (double click, resend, back button, two at once) makes one record."""

from __future__ import annotations

import re
import threading

import flask_migrate
import pytest
import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.extensions import db as _db
from clinic.journeys import models as m
from clinic.patients.models import Patient
from tests.conftest import make_test_app
from tests.databases import fresh_url
from tests.factories import make_user
from tests.live import LiveServer
from tests.patients.test_patients import FORM
from tests.scheduling.test_concurrency import Browser

KEY = re.compile(r'name="submission_key" value="([^"]+)"')


def _key(client, page: str) -> str:
    match = KEY.search(client.get(page).get_data(as_text=True))
    assert match, f"no submission key on {page}"
    return match.group(1)


def _count(db, model, *where) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_registering_twice_with_one_key_makes_one_patient(client, login, db):
    login(Role.FRONT_DESK)
    form = {**FORM, "submission_key": _key(client, "/patients/new")}
    first = client.post_form("/patients/new", form)
    second = client.post_form("/patients/new", form)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"]
    assert _count(db, Patient, Patient.given_name == "Rosa") == 1
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "already been sent" in page


def test_a_refused_first_post_frees_its_key_for_the_corrected_form(client, login, db):
    login(Role.FRONT_DESK)
    key = _key(client, "/patients/new")
    refused = client.post_form("/patients/new", {**FORM, "given_name": "", "submission_key": key})
    assert refused.status_code == 422
    saved = client.post_form("/patients/new", {**FORM, "submission_key": key})
    assert saved.status_code == 302
    assert _count(db, Patient, Patient.given_name == "Rosa") == 1


def test_another_users_key_is_refused(client, login, db):
    login(Role.FRONT_DESK)
    key = _key(client, "/patients/new")
    assert client.post_form("/patients/new", {**FORM, "submission_key": key}).status_code == 302
    client.post_form("/logout", {}, token_from="/front-desk")
    login(Role.FRONT_DESK)
    again = client.post_form("/patients/new", {**FORM, "submission_key": key})
    assert again.status_code == 400
    assert _count(db, Patient, Patient.given_name == "Rosa") == 1


def test_a_malformed_key_is_a_400(client, login, db):
    login(Role.FRONT_DESK)
    response = client.post_form("/patients/new", {**FORM, "submission_key": "x" * 300})
    assert response.status_code == 400
    assert _count(db, Patient, Patient.given_name == "Rosa") == 0


def test_a_note_sent_twice_is_added_once(client, login, journey, provider, db):
    login(Role.PROVIDER, provider)
    stage = journey.evaluation
    page = f"/clinical/journeys/{journey.id}/stages/{stage.id}"
    form = {"body": "Tender over L4-L5.", "submission_key": _key(client, page)}
    for _ in range(2):
        assert client.post_form(page + "/notes", form, token_from=page).status_code == 302
    assert _count(db, m.StageNote, m.StageNote.stage_id == stage.id) == 1


def test_a_new_journey_sent_twice_is_opened_once(client, login, make_journey, provider, db):
    journey = make_journey()
    login(Role.PROVIDER, provider)
    page = f"/clinical/patients/{journey.patient_id}/journeys/new"
    html = client.get(page).get_data(as_text=True)
    condition = re.search(r'name="condition_ids"[^>]*>\s*<option value="(\d+)"', html)
    form = {
        "therapy": "prp",
        "provider_id": str(provider.id),
        "condition_ids": condition.group(1) if condition else "1",
        "level": "L4-L5",
        "side": "midline",
        "structure": "disc",
        "submission_key": KEY.search(html).group(1),
    }
    before = _count(db, m.Journey, m.Journey.patient_id == journey.patient_id)
    first = client.post_form(page, form)
    second = client.post_form(page, form)
    assert first.status_code == 302, first.get_data(as_text=True)[:2000]
    assert second.headers["Location"] == first.headers["Location"]
    assert _count(db, m.Journey, m.Journey.patient_id == journey.patient_id) == before + 1


SENDS = 8


@pytest.fixture(scope="module")
def live(db_kind):
    app = make_test_app(fresh_url(db_kind, "submissions"))
    with app.app_context():
        flask_migrate.upgrade()
        desk = make_user(Role.FRONT_DESK)
        _db.session.commit()
        email = desk.email
    with LiveServer(app) as server:
        yield app, server, email
    with app.app_context():
        _db.engine.dispose()


def test_the_same_form_sent_at_once_from_many_tabs_registers_one_patient(live):
    app, server, email = live
    browser = Browser(server.url)
    browser.sign_in(email)
    token = browser.token("/patients/new")
    _, html, _ = browser.request("GET", "/patients/new")
    form = {**FORM, "given_name": "Concurrent", "csrf_token": token}
    form["submission_key"] = KEY.search(html).group(1)
    barrier = threading.Barrier(SENDS)
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    def send() -> None:
        barrier.wait()
        status, _, _ = browser.request("POST", "/patients/new", form)
        with lock:
            answers.append(status)

    threads = [threading.Thread(target=send) for _ in range(SENDS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert answers == [302] * SENDS
    with app.app_context():
        made = _db.session.scalar(
            sa.select(sa.func.count(Patient.id)).where(Patient.given_name == "Concurrent")
        )
        _db.session.remove()
    assert made == 1
