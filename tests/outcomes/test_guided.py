"""The patient's guided flow: every due questionnaire one after the other, "2 of 3", resume."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from clinic.auth.models import Role
from clinic.outcomes import services
from clinic.outcomes.charts import short_label
from clinic.outcomes.instruments import get_instrument
from clinic.timeutil import clinic_today
from tests.outcomes.test_questionnaires import _assign, _reload, _v


@pytest.fixture
def patient_user(make_user):
    return make_user(Role.PATIENT)


def _submit(client, db, response, answers: dict):
    return client.post_form(
        f"/my/questionnaires/{response.id}",
        {**answers, "submit": "Submit answers", "version": _v(db, response)},
    )


def test_the_due_set_is_answered_in_one_flow_with_a_step_count(client, login, patient_user, db):
    today = date.today()
    nrs, radiating, pgic = _assign(
        patient_user.patient, ["nrs_pain", "nrs_radiating", "pgic"], due=today + timedelta(days=7)
    )
    login(Role.PATIENT, patient_user)
    listing = client.get("/my/questionnaires").get_data(as_text=True)
    first = re.search(r'id="start-due" href="/my/questionnaires/(\d+)"', listing)
    assert first, "the list offers one button that starts the flow"
    order = [int(first.group(1))]
    page = client.get(f"/my/questionnaires/{order[0]}").get_data(as_text=True)
    assert "Questionnaire 1 of 3" in page and '<progress class="guided-progress" max="3"' in page
    by_id = {r.id: r for r in (nrs, radiating, pgic)}
    answers = {nrs.id: {"item_axial": "4"}, radiating.id: {"item_radiating": "2"}}
    answers[pgic.id] = {"item_change": "2"}
    for position in (2, 3):
        done = _submit(client, db, by_id[order[-1]], answers[order[-1]])
        assert done.status_code == 302
        next_id = int(done.headers["Location"].rsplit("/", 1)[1])
        assert next_id not in order
        order.append(next_id)
        page = client.get(f"/my/questionnaires/{next_id}").get_data(as_text=True)
        assert f"Questionnaire {position} of 3" in page
    last = _submit(client, db, by_id[order[-1]], answers[order[-1]])
    assert last.headers["Location"].endswith("/my/questionnaires")
    assert "That is everything for now" in client.get("/my/questionnaires").get_data(as_text=True)
    assert all(not _reload(db, r).is_open for r in (nrs, radiating, pgic))


def test_saving_leaves_the_flow_and_the_list_offers_to_continue(client, login, patient_user, db):
    (nrs,) = _assign(patient_user.patient, ["odi"])
    login(Role.PATIENT, patient_user)
    saved = client.post_form(
        f"/my/questionnaires/{nrs.id}",
        {"item_pain": "2", "save": "Save and finish later", "version": _v(db, nrs)},
    )
    assert saved.headers["Location"].endswith("/my/questionnaires")
    listing = client.get("/my/questionnaires").get_data(as_text=True)
    assert re.search(r'id="start-due"[^>]*>Continue<', listing)
    # a single questionnaire shows no step count
    assert "Questionnaire 1 of 1" not in client.get(f"/my/questionnaires/{nrs.id}").get_data(
        as_text=True
    )


def test_only_the_next_later_set_is_shown_the_rest_collapsed(client, login, patient_user):
    today = date.today()
    for weeks in (2, 6, 12):
        _assign(
            patient_user.patient,
            ["nrs_pain", "odi"],
            timepoint=f"{weeks} weeks",
            opens=today + timedelta(weeks=weeks),
        )
    login(Role.PATIENT, patient_user)
    page = client.get("/my/questionnaires").get_data(as_text=True)
    section = page[page.index('id="coming-up"') :]
    assert "Next: 2 questionnaires on" in section and "(2 weeks)" in section
    assert "<summary>4 more after that</summary>" in section


def test_a_zero_to_ten_scale_is_a_row_of_buttons(client, login, patient_user):
    (nrs,) = _assign(patient_user.patient, ["nrs_pain"])
    assert get_instrument("nrs_pain").items[0].is_scale
    assert not get_instrument("odi").items[0].is_scale
    login(Role.PATIENT, patient_user)
    page = client.get(f"/my/questionnaires/{nrs.id}").get_data(as_text=True)
    scale = page[page.index('class="answer-scale"') :]
    assert scale.count('class="btn-check"') == 11 and 'class="btn btn-outline-primary"' in scale


def test_the_home_button_opens_the_first_due_questionnaire(client, login, patient_user):
    (nrs,) = _assign(patient_user.patient, ["nrs_pain"])
    login(Role.PATIENT, patient_user)
    home = client.get("/my").get_data(as_text=True)
    assert f'href="/my/questionnaires/{nrs.id}">Fill them in' in home


def test_guided_step_counts_answered_today_as_done(patient_user):
    today = clinic_today()
    a, b = _assign(patient_user.patient, ["nrs_pain", "pgic"])
    services.save_answers(a, {"axial": 3}, by=patient_user, submit=True, version=a.version)
    responses = services.responses_for(patient_user.patient)
    assert services.guided_step(responses, b, today) == services.GuidedStep(2, 2)
    assert services.next_due(responses, b, today) is None


@pytest.mark.parametrize(
    "timepoint, short",
    [("baseline", "Start"), ("2 weeks", "2 wk"), ("12 months", "12 mo"), ("odd", "odd")],
)
def test_chart_labels_are_short_enough_for_a_phone(timepoint, short):
    assert short_label(timepoint) == short
