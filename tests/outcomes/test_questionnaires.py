"""Filling questionnaires: save and resume, validation, submit, staff entry, privacy, audit."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.errors import Refused
from clinic.models.audit import AuditEvent
from clinic.outcomes import services
from clinic.outcomes.models import QuestionnaireResponse, ResponseStatus
from tests.outcomes.test_scoring import ODI_CODES


@pytest.fixture
def patient_user(make_user):
    return make_user(Role.PATIENT)


def _assign(patient, codes, timepoint="baseline", opens=None, due=None):
    return services.assign(
        patient,
        codes,
        timepoint=timepoint,
        available_from=opens or date.today() - timedelta(days=1),
        due_by=due,
        by=None,
    )


def _odi_form(values) -> dict:
    return {
        f"item_{c}": ("skip" if v is None else str(v))
        for c, v in zip(ODI_CODES, values, strict=False)
    }


def _v(db, response) -> str:
    """The version the answer page would carry now (optimistic locking)."""
    return str(_reload(db, response).version)


def _reload(db, response):
    db.session.expire_all()
    return db.session.get(QuestionnaireResponse, response.id)


def test_save_draft_then_resume_then_submit(client, login, patient_user, db):
    (odi,) = _assign(patient_user.patient, ["odi"])
    login(Role.PATIENT, patient_user)
    url = f"/my/questionnaires/{odi.id}"
    draft = client.post_form(
        url, {**_odi_form([3, 2, 2]), "save": "Save and finish later", "version": _v(db, odi)}
    )
    assert draft.status_code == 302
    odi = _reload(db, odi)
    assert odi.status is ResponseStatus.IN_PROGRESS and len(odi.answers) == 3
    page = client.get(url).get_data(as_text=True)
    assert re.search(r'<input checked[^>]*name="item_pain" type="radio" value="3"', page)
    done = client.post_form(
        url,
        {
            **_odi_form([3, 2, 2, 3, 1, 2, 2, None, 1, 2]),
            "submit": "Submit answers",
            "version": _v(db, odi),
        },
    )
    assert done.status_code == 302
    odi = _reload(db, odi)
    assert odi.status is ResponseStatus.COMPLETED and str(odi.score) == "40.0"
    assert not odi.on_behalf


def test_incomplete_submission_lists_what_is_missing_and_keeps_answers(
    client, login, patient_user, db
):
    (odi,) = _assign(patient_user.patient, ["odi"])
    login(Role.PATIENT, patient_user)
    url = f"/my/questionnaires/{odi.id}"
    response = client.post_form(
        url,
        {**_odi_form([3, 2, 2, 3, 1, 2, 2, 0]), "submit": "Submit answers", "version": _v(db, odi)},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Social life</a> needs an answer" in html and "Travelling</a> needs an answer" in html
    # what was chosen is still chosen
    assert re.search(r'<input checked[^>]*name="item_pain" type="radio" value="3"', html)
    assert _reload(db, odi).status is ResponseStatus.ASSIGNED  # nothing half-written


def test_an_answer_the_question_does_not_offer_is_said_and_the_rest_kept(
    client, login, patient_user, db
):
    """A value no option has (a changed page): the question is named and nothing is saved."""
    (nrs,) = _assign(patient_user.patient, ["nrs_pain"])
    login(Role.PATIENT, patient_user)
    url = f"/my/questionnaires/{nrs.id}"
    for value in ("11", "-1", "abc", "5.5"):
        response = client.post_form(
            url, {"item_axial": value, "submit": "Submit answers", "version": _v(db, nrs)}
        )
        html = response.get_data(as_text=True)
        assert "choose one of the listed answers" in html, value
        assert _reload(db, nrs).status is ResponseStatus.ASSIGNED


def test_submitted_questionnaire_is_locked(client, login, patient_user, db):
    (nrs,) = _assign(patient_user.patient, ["nrs_pain"])
    login(Role.PATIENT, patient_user)
    url = f"/my/questionnaires/{nrs.id}"
    client.post_form(url, {"item_axial": "6", "submit": "Submit answers", "version": _v(db, nrs)})
    again = client.post_form(
        url,
        {"item_axial": "2", "submit": "Submit answers", "version": _v(db, nrs)},
        token_from="/my/questionnaires",
    )
    assert again.status_code == 409
    assert str(_reload(db, nrs).score) == "6.0"


def test_staff_enter_answers_on_the_patients_behalf(client, login_on_team, patient_user, db):
    (nrs,) = _assign(patient_user.patient, ["nrs_pain"])
    nurse = login_on_team(Role.CLINICAL_STAFF, patient_user.patient)
    response = client.post_form(
        f"/questionnaires/{nrs.id}/enter",
        {"item_axial": "4", "submit": "Submit answers", "version": _v(db, nrs)},
    )
    assert response.status_code == 302
    nrs = _reload(db, nrs)
    assert nrs.on_behalf and nrs.entered_by_id == nurse.id
    row = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "questionnaire.submitted")
    ).one()
    assert row.detail == "entered by staff for the patient" and row.patient_id == nrs.patient_id


def test_staff_assign_the_standard_set_for_the_region(client, login_on_team, patient_user, db):
    login_on_team(Role.PROVIDER, patient_user.patient)
    patient = patient_user.patient
    page = f"/patients/{patient.id}/outcomes"
    client.post_form(
        f"{page}/assign",
        {"timepoint": "baseline", "region": "cervical", "available_from": date.today().isoformat()},
        token_from=page,
    )
    codes = set(db.session.scalars(sa.select(QuestionnaireResponse.instrument_code)))
    assert codes == {"nrs_pain", "nrs_radiating", "ndi"}
    bad = client.post_form(
        f"{page}/assign",
        {
            "timepoint": "6 weeks",
            "region": "lumbar",
            "available_from": "2026-03-10",
            "due_by": "2026-03-01",
        },
        token_from=page,
    )
    assert bad.status_code == 422 and "cannot be before" in bad.get_data(as_text=True)


def test_void_keeps_the_record(client, login_on_team, patient_user, db):
    (nrs,) = _assign(patient_user.patient, ["nrs_pain"])
    login_on_team(Role.PROVIDER, patient_user.patient)
    page = f"/patients/{patient_user.patient.id}/outcomes"
    for blank in ("", "   "):  # the browser's `required` lets spaces through
        refused = client.post_form(
            f"/questionnaires/{nrs.id}/void", {"reason": blank}, token_from=page
        )
        assert refused.status_code == 422  # was a bare 400 "Bad request"
        assert "Not withdrawn: give the reason" in refused.get_data(as_text=True)
        assert _reload(db, nrs).status is not ResponseStatus.VOIDED
    client.post_form(
        f"/questionnaires/{nrs.id}/void", {"reason": "assigned twice"}, token_from=page
    )
    assert _reload(db, nrs).status is ResponseStatus.VOIDED


def test_patients_reach_only_their_own_questionnaires(app, client, login, make_user, db):
    ada = make_user(Role.PATIENT)
    ben = make_user(Role.PATIENT)
    (ada_nrs,) = _assign(ada.patient, ["nrs_pain"])
    _assign(ben.patient, ["odi"])
    login(Role.PATIENT, ben)
    assert client.get(f"/my/questionnaires/{ada_nrs.id}").status_code == 403
    posted = client.post_form(
        f"/my/questionnaires/{ada_nrs.id}",
        {"item_axial": "1", "submit": "Submit answers"},
        token_from="/my/questionnaires",
    )
    assert posted.status_code == 403
    assert _reload(db, ada_nrs).status is ResponseStatus.ASSIGNED
    listing = client.get("/my/questionnaires").get_data(as_text=True)
    assert "Low-back disability" in listing and "Pain rating" not in listing
    assert client.get(f"/patients/{ada.patient.id}/outcomes").status_code == 403
    assert client.get(f"/questionnaires/{ada_nrs.id}/enter").status_code == 403


def test_front_desk_cannot_see_results(client, login, patient_user):
    login(Role.FRONT_DESK)
    assert client.get(f"/patients/{patient_user.patient.id}/outcomes").status_code == 403


def test_portal_reads_are_audited(client, login, patient_user, db):
    (nrs,) = _assign(patient_user.patient, ["nrs_pain"])
    login(Role.PATIENT, patient_user)
    client.get("/my/questionnaires")
    client.get(f"/my/questionnaires/{nrs.id}")
    client.get("/my/progress")
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.patient_id == patient_user.patient_id)
    ).all()
    assert {
        "portal.questionnaires_viewed",
        "portal.questionnaire_opened",
        "portal.progress_viewed",
    } <= set(actions)


def _complete(patient, code, timepoint, value, by, days_ago):
    (response,) = _assign(
        patient, [code], timepoint=timepoint, opens=date.today() - timedelta(days=days_ago + 1)
    )
    services.save_answers(
        response, {"axial": value} if code == "nrs_pain" else {"change": value}, by=by, submit=True
    )
    return response


def test_progress_marks_clinically_important_change(client, login, patient_user, db):
    patient = patient_user.patient
    _complete(patient, "nrs_pain", "baseline", 8, patient_user, 90)
    _complete(patient, "nrs_pain", "6 weeks", 7, patient_user, 40)
    _complete(patient, "nrs_pain", "3 months", 4, patient_user, 1)
    _complete(patient, "pgic", "3 months", 2, patient_user, 1)
    login(Role.PATIENT, patient_user)
    html = client.get("/my/progress").get_data(as_text=True)
    assert "1.0 points better" in html
    assert "4.0 points better (50.0%)" in html
    assert html.count("Clinically important") == 1
    assert "Clear response" in html
    assert '<polyline class="series"' in html and 'class="threshold"' in html


@pytest.mark.parametrize("path", ["/my/questionnaires", "/my/progress"])
def test_portal_pages_query_count_does_not_grow_with_history(
    client, login, make_user, count_queries, path, db
):
    def measure(patient_user, how_many):
        for i in range(how_many):
            _complete(
                patient_user.patient,
                "nrs_pain",
                "baseline" if i == 0 else f"visit {i}",
                5,
                patient_user,
                how_many - i,
            )
        _assign(patient_user.patient, ["odi"], timepoint="later")
        login(Role.PATIENT, patient_user)
        with count_queries() as counter:
            assert client.get(path).status_code == 200
        client.post_form("/logout", token_from="/my")
        return counter

    small = measure(make_user(Role.PATIENT), 2).count
    counter = measure(make_user(Role.PATIENT), 30)
    large, large_statements = counter.count, counter.statements
    assert small == large, "\n".join(large_statements)


def test_a_stale_answer_page_does_not_overwrite_newer_answers(client, login, patient_user, db):
    (nrs,) = _assign(patient_user.patient, ["nrs_pain"])
    opened_at = _v(db, nrs)  # the patient opens the page
    services.save_answers(nrs, {"axial": 8}, by=patient_user, submit=False)  # a nurse saves
    db.session.commit()
    login(Role.PATIENT, patient_user)
    stale = client.post_form(
        f"/my/questionnaires/{nrs.id}",
        {"item_axial": "2", "submit": "Submit answers", "version": opened_at},
    )
    assert stale.status_code == 409
    assert _reload(db, nrs).answer_map() == {"axial": 8}
    # the page says what is saved now and keeps the patient's own answers to send again
    html = stale.get_data(as_text=True)
    assert "Someone else saved this questionnaire after you opened it" in html
    assert re.search(r"<td>[^<]*</td><td>8[^<]*</td><td>2[^<]*</td>", html)
    assert re.search(r'<input checked[^>]*name="item_axial"[^>]*value="2"', html)
    assert f'name="version" type="hidden" value="{_v(db, nrs)}"' in html
    again = client.post_form(
        f"/my/questionnaires/{nrs.id}",
        {"item_axial": "2", "submit": "Submit answers", "version": _v(db, nrs)},
    )
    assert again.status_code == 302
    assert _reload(db, nrs).answer_map() == {"axial": 2}


def test_an_answer_page_older_than_the_submission_is_refused(client, login, patient_user, db):
    (nrs,) = _assign(patient_user.patient, ["nrs_pain"])
    opened_at = _v(db, nrs)
    services.save_answers(nrs, {"axial": 8}, by=patient_user, submit=True)
    db.session.commit()
    login(Role.PATIENT, patient_user)
    stale = client.post_form(
        f"/my/questionnaires/{nrs.id}",
        {"item_axial": "2", "submit": "Submit answers", "version": opened_at},
        token_from="/my/questionnaires",
    )
    assert stale.status_code == 409 and "changed by someone else" in stale.get_data(as_text=True)
    assert str(_reload(db, nrs).score) == "8.0"


def test_a_questionnaire_cannot_be_answered_before_it_opens(client, login, patient_user, db):
    (later,) = _assign(
        patient_user.patient,
        ["nrs_pain"],
        timepoint="3 months",
        opens=date.today() + timedelta(days=80),
    )
    login(Role.PATIENT, patient_user)
    page = client.get(f"/my/questionnaires/{later.id}").get_data(as_text=True)
    assert "opens on" in page
    posted = client.post_form(
        f"/my/questionnaires/{later.id}",
        {"item_axial": "2", "submit": "Submit answers", "version": _v(db, later)},
        token_from="/my/questionnaires",
    )
    assert posted.status_code == 409
    assert _reload(db, later).status is ResponseStatus.ASSIGNED
    with pytest.raises(Refused):
        services.save_answers(later, {"axial": 2}, by=patient_user, submit=True)


def test_progress_dates_are_clinic_dates(client, login, patient_user, db):
    from datetime import UTC, datetime

    nrs = _complete(patient_user.patient, "nrs_pain", "baseline", 6, patient_user, 3)
    nrs.completed_at = datetime(2026, 1, 10, 2, 30, tzinfo=UTC)  # 9 January in New York
    db.session.commit()
    login(Role.PATIENT, patient_user)
    html = client.get("/my/progress").get_data(as_text=True)
    assert "9 Jan 2026" in html and "10 Jan 2026" not in html


def test_staff_opening_answers_is_audited(client, login_on_team, patient_user, db):
    (nrs,) = _assign(patient_user.patient, ["nrs_pain"])
    login_on_team(Role.PROVIDER, patient_user.patient)
    assert client.get(f"/questionnaires/{nrs.id}/enter").status_code == 200
    row = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "questionnaire.viewed")
    ).one()
    assert row.patient_id == patient_user.patient_id
