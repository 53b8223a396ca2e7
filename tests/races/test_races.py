"""Simultaneous saves end in a clear answer: the expected successes, the rest 409, no 5xx.

Each test fires a burst of posts at the real app on a local port (real commits, one thread
per request, released together by a barrier), on SQLite (BEGIN IMMEDIATE) and on PostgreSQL
(sequence, unique constraints, compare-and-set versions).
"""

from __future__ import annotations

import re
import threading
from datetime import date, timedelta

import flask_migrate
import pytest
import sqlalchemy as sa

from clinic.auth.models import Role, User
from clinic.extensions import db
from clinic.instructions.models import InstructionVersion
from clinic.outcomes import services as outcomes
from clinic.outcomes.models import QuestionnaireResponse
from clinic.patients.models import Patient
from clinic.scheduling.models import WorkingHours, WorkingWeek
from tests.careteam_helpers import join_care_team
from tests.conftest import make_test_app
from tests.databases import fresh_url
from tests.factories import PatientFactory, make_user
from tests.live import LiveServer
from tests.scheduling.test_concurrency import Browser

BURST = 8
VERSION = re.compile(r'name="(?:version|based_on)" type="hidden" value="([^"]*)"')


@pytest.fixture(scope="module")
def server(db_kind):
    app = make_test_app(fresh_url(db_kind, "races"))
    with app.app_context():
        flask_migrate.upgrade()
        roles = (Role.ADMIN, Role.FRONT_DESK, Role.CLINICAL_STAFF)
        people = {role: make_user(role) for role in roles}
        clinicians = [make_user(Role.PROVIDER) for _ in range(2)]
        patient = PatientFactory()
        join_care_team(people[Role.CLINICAL_STAFF], patient)  # the nurse enters answers
        db.session.commit()
        ids = {
            "emails": {role: user.email for role, user in people.items()},
            "clinicians": [c.id for c in clinicians],
            "patient": patient.id,
            "app": app,
        }
    with LiveServer(app) as live:
        yield app, live, ids
    with app.app_context():
        db.engine.dispose()


def signed_in(live, ids, role: Role) -> Browser:
    browser = Browser(live.url)
    browser.sign_in(ids["emails"][role], ids["app"])
    return browser


def fire(browser: Browser, path: str, forms: list[dict]) -> list[tuple[int, str]]:
    """Post every form to `path` at the same moment; the (status, page) of each answer."""
    token = browser.token(path)
    barrier = threading.Barrier(len(forms))
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def attempt(form: dict) -> None:
        barrier.wait()
        status, html, _ = browser.request("POST", path, {"csrf_token": token, **form})
        with lock:
            results.append((status, html))

    threads = [threading.Thread(target=attempt, args=(form,)) for form in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == len(forms)
    return results


def statuses(results: list[tuple[int, str]]) -> list[int]:
    return sorted(status for status, _ in results)


def opened_version(browser: Browser, path: str) -> str:
    """The version hidden in the edit page, as a browser tab would hold it."""
    return VERSION.search(browser.request("GET", path)[1]).group(1)


def test_simultaneous_registrations_all_succeed_with_distinct_mrns(server):
    app, live, ids = server
    desk = signed_in(live, ids, Role.FRONT_DESK)
    forms = [
        {
            "given_name": f"Rowan{i}",
            "family_name": "Simultaneous",
            "date_of_birth": f"1980-01-{i + 1:02d}",
            "sex": "female",
            "phone": f"617-555-01{i:02d}",
            "preferred_contact": "phone",
        }
        for i in range(BURST)
    ]
    results = fire(desk, "/patients/new", forms)
    assert statuses(results) == [302] * BURST
    with app.app_context():
        mrns = db.session.scalars(
            sa.select(Patient.mrn).where(Patient.family_name == "Simultaneous")
        ).all()
        db.session.remove()
    assert len(mrns) == len(set(mrns)) == BURST
    assert all(re.fullmatch(r"CJ\d{6}", mrn) for mrn in mrns)


def test_the_same_new_account_email_twice_at_once_gives_one_account(server):
    app, live, ids = server
    admin = signed_in(live, ids, Role.ADMIN)
    form = {
        "full_name": "Dana Twice",
        "email": "dana.twice@example.org",
        "role": "clinical_staff",
        "password": "Quiet harbour meadow 77",
        "confirm": "Quiet harbour meadow 77",
    }
    results = fire(admin, "/admin/users/new", [form] * BURST)
    assert statuses(results) == [302] + [409] * (BURST - 1)
    beside_email = re.compile(r'id="email-error"[^>]*>An account with this e-mail already exists')
    assert all(beside_email.search(html) for status, html in results if status == 409)
    with app.app_context():
        count = db.session.scalar(
            sa.select(sa.func.count(User.id)).where(User.email == "dana.twice@example.org")
        )
        db.session.remove()
    assert count == 1


def _week(i: int) -> dict:
    """A week whose two days both end at a time that says which request sent it."""
    end = f"{12 + i % 6}:{(i // 6) * 15:02d}"
    return {"start_0": "08:00", "end_0": end, "start_2": "08:00", "end_2": end}


def _saved_week(app, clinician_id: int) -> tuple[int, set[str]]:
    with app.app_context():
        version = db.session.scalar(
            sa.select(WorkingWeek.version).where(WorkingWeek.clinician_id == clinician_id)
        )
        ends = db.session.scalars(
            sa.select(WorkingHours.ends).where(WorkingHours.clinician_id == clinician_id)
        ).all()
        db.session.remove()
    return version, {e.strftime("%H:%M") for e in ends}


def test_first_working_hours_saved_twice_at_once_one_wins(server):
    app, live, ids = server
    admin = signed_in(live, ids, Role.ADMIN)
    path = f"/schedule/hours/{ids['clinicians'][0]}"
    version = opened_version(admin, path)
    assert version == "0"
    results = fire(admin, path, [{**_week(i), "version": version} for i in range(BURST)])
    assert statuses(results) == [302] + [409] * (BURST - 1)
    assert all("Someone else saved these working hours" in html for s, html in results if s == 409)
    saved_version, ends = _saved_week(app, ids["clinicians"][0])
    assert saved_version == 1 and len(ends) == 1  # one request's week, not a mixture


def test_two_saves_of_working_hours_from_the_same_version_give_one_409(server):
    app, live, ids = server
    admin = signed_in(live, ids, Role.ADMIN)
    path = f"/schedule/hours/{ids['clinicians'][1]}"
    first, _, _ = admin.request(
        "POST", path, {"csrf_token": admin.token(path), **_week(0), "version": "0"}
    )
    assert first == 302
    version = opened_version(admin, path)
    assert version == "1"
    results = fire(admin, path, [{**_week(i + 1), "version": version} for i in range(BURST)])
    assert statuses(results) == [302] + [409] * (BURST - 1)
    saved_version, ends = _saved_week(app, ids["clinicians"][1])
    assert saved_version == 2 and len(ends) == 1 and ends != {"12:00"}


def test_a_new_instruction_version_saved_twice_at_once_one_wins(server):
    app, live, ids = server
    rounds = 2  # the first version of a text, then a new version of it
    admin = signed_in(live, ids, Role.ADMIN)
    path = "/admin/instructions/prp/weeks_2_6"
    for round_number in range(rounds):
        based_on = opened_version(admin, path)
        assert based_on == ("" if round_number == 0 else str(round_number))
        forms = [
            {"title": f"Weeks 2 to 6, edit {i}", "body": "Walk daily.", "based_on": based_on}
            for i in range(BURST)
        ]
        results = fire(admin, path, forms)
        assert statuses(results) == [302] + [409] * (BURST - 1)
    with app.app_context():
        numbers = db.session.scalars(
            sa.select(InstructionVersion.version)
            .where(InstructionVersion.therapy == "prp")
            .order_by(InstructionVersion.version)
        ).all()
        db.session.remove()
    assert numbers == list(range(1, rounds + 1))


def test_questionnaire_drafts_saved_at_once_or_from_a_stale_tab_never_overwrite(server):
    app, live, ids = server
    with app.app_context():
        patient = db.session.get(Patient, ids["patient"])
        (response,) = outcomes.assign(
            patient,
            ["nrs_pain"],
            timepoint="baseline",
            available_from=date.today() - timedelta(days=1),
            due_by=None,
            by=None,
        )
        db.session.commit()
        response_id = response.id
        db.session.remove()
    nurse = signed_in(live, ids, Role.CLINICAL_STAFF)
    path = f"/questionnaires/{response_id}/enter"
    version = opened_version(nurse, path)
    forms = [
        {"item_axial": str(i), "save": "Save and finish later", "version": version}
        for i in range(BURST)
    ]
    results = fire(nurse, path, forms)
    assert statuses(results) == [302] + [409] * (BURST - 1)
    stale_tab = nurse.request(
        "POST", path, {"csrf_token": nurse.token(path), **forms[0], "item_axial": "10"}
    )
    # the form again, the answers saved now beside the ones this tab sent (kept to send again)
    assert stale_tab[0] == 409
    assert "Someone else saved this questionnaire after you opened it" in stale_tab[1]
    with app.app_context():
        saved = db.session.get(QuestionnaireResponse, response_id)
        assert saved.version == int(version) + 1
        assert saved.answer_map()["axial"] in range(BURST)
        db.session.remove()


def test_page_views_at_the_same_moment_all_answer(server):
    """Page views write after reading (the read audit, last seen): on SQLite a read transaction
    that another view wrote past cannot take the lock later and was a 503 'database is locked'
    at once; each view now takes the lock first, so they wait their turn."""
    _app, live, ids = server
    desk = signed_in(live, ids, Role.FRONT_DESK)
    path = f"/patients/{ids['patient']}"
    barrier = threading.Barrier(BURST)
    answers: list[int] = []
    lock = threading.Lock()

    def views() -> None:
        barrier.wait()
        for _ in range(5):
            status = desk.request("GET", path)[0]
            with lock:
                answers.append(status)

    threads = [threading.Thread(target=views) for _ in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * (BURST * 5)


def test_refused_page_views_at_the_same_moment_are_all_audited_refusals(server):
    """A 403 rolls its request back and writes the refusal's audit row afterwards: on SQLite
    that row's transaction took the lock late as well and came back 503 under a few views."""
    app, live, ids = server
    with app.app_context():
        outside = PatientFactory()  # not on the nurse's care team
        db.session.commit()
        outside_id = outside.id
        db.session.remove()
    nurse = signed_in(live, ids, Role.CLINICAL_STAFF)
    paths = [f"/clinical/patients/{pid}/chart" for pid in (ids["patient"], outside_id)]
    barrier = threading.Barrier(BURST)
    answers: list[tuple[str, int]] = []
    lock = threading.Lock()

    def views(index: int) -> None:
        barrier.wait()
        for turn in range(4):
            path = paths[(index + turn) % 2]
            status = nurse.request("GET", path)[0]
            with lock:
                answers.append((path, status))

    threads = [threading.Thread(target=views, args=(i,)) for i in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted({(path, status) for path, status in answers}) == [
        (paths[0], 200),
        (paths[1], 403),
    ]
