"""The stage page fits the work: sections fold, the save buttons sit under the fields, "Save and
complete" (and "…and sign") finish in one post, and each save returns to its own section."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from html.parser import HTMLParser

import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.journeys import models as m
from clinic.journeys import walkthrough as walk
from clinic.journeys.services import stages
from clinic.journeys.services.journeys import record_of
from clinic.journeys.states import StageKind, StageStatus


class FormValues(HTMLParser):
    """What a browser would send for one form of a page, found by its id (no buttons)."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.values = form_id, False, {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            self.values[name] = a.get("value", "y")
        elif tag == "select" and name:
            self._select = name
            self.values.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = ""

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def form_values(html: str, form_id: str) -> dict:
    parser = FormValues(form_id)
    parser.feed(html)
    values = parser.values
    if values.get("collected_at"):
        # the field keeps minutes only: a minute on, so it is not before the consent just signed
        moment = datetime.fromisoformat(values["collected_at"]) + timedelta(minutes=1)
        values["collected_at"] = moment.strftime("%Y-%m-%dT%H:%M")
    return values


def _collection_in_progress(journey, provider, staff):
    walk.evaluate(journey, provider)
    stage = walk.collect(journey, staff, complete=False)
    walk.tick_all(stage, staff)
    return stage


def _url(stage) -> str:
    return f"/clinical/journeys/{stage.journey_id}/stages/{stage.id}"


def test_sections_fold_and_the_save_buttons_sit_under_the_fields(
    client, login, db, journey, provider, staff
):
    stage = _collection_in_progress(journey, provider, staff)
    login(Role.PROVIDER, provider)
    html = client.get(_url(stage)).get_data(as_text=True)
    for section in ("actions", "record", "checklist"):
        assert f'<details class="card mb-3 stage-section" id="{section}" open>' in html
    assert '<details class="card mb-3 stage-section" id="notes">' in html  # no notes yet: folded
    record = html[
        html.index('id="record-form"') : html.index("</form>", html.index('id="record-form"'))
    ]
    assert 'name="then" value="complete"' in record and 'name="then" value="sign"' in record


def test_save_draft_returns_to_the_record_section(client, login, db, journey, provider, staff):
    stage = _collection_in_progress(journey, provider, staff)
    login(Role.CLINICAL_STAFF, staff)
    values = form_values(client.get(_url(stage)).get_data(as_text=True), "record-form")
    answer = client.post_form(_url(stage), values)
    assert answer.status_code == 302 and answer.headers["Location"].endswith("#record")


def test_save_and_complete_in_one_post(client, login, db, journey, provider, staff):
    stage = _collection_in_progress(journey, provider, staff)
    login(Role.CLINICAL_STAFF, staff)
    html = client.get(_url(stage)).get_data(as_text=True)
    assert 'value="sign"' not in html[html.index('id="record-form"') :].split("</form>")[0]
    values = form_values(html, "record-form")
    answer = client.post_form(_url(stage), {**values, "then": "complete"})
    assert answer.headers["Location"].endswith("#actions")
    db.session.expire_all()
    assert stage.status is StageStatus.COMPLETED
    assert "Draft saved, stage completed." in client.get(_url(stage)).get_data(as_text=True)


def test_save_complete_and_sign_in_one_post(client, login, db, journey, provider, staff):
    stage = _collection_in_progress(journey, provider, staff)
    login(Role.PROVIDER, provider)
    values = form_values(client.get(_url(stage)).get_data(as_text=True), "record-form")
    client.post_form(_url(stage), {**values, "then": "sign"})
    db.session.expire_all()
    assert stage.status is StageStatus.SIGNED


def test_a_refused_completion_keeps_the_saved_draft_and_says_why(
    client, login, db, journey, provider, staff
):
    walk.evaluate(journey, provider)
    stage = walk.collect(journey, staff, complete=False)  # the checklist is not ticked
    login(Role.CLINICAL_STAFF, staff)
    values = form_values(client.get(_url(stage)).get_data(as_text=True), "record-form")
    values["draw_site"] = "Right antecubital"
    answer = client.post_form(_url(stage), {**values, "then": "complete"})
    assert answer.headers["Location"].endswith("#actions")
    db.session.expire_all()
    assert stage.status is StageStatus.IN_PROGRESS
    assert record_of(stage).draw_site == "Right antecubital"
    page = client.get(_url(stage)).get_data(as_text=True)
    assert "Draft saved. Not done:" in page


def test_the_follow_up_page_says_whom_to_call_and_how(client, login, db, journey, provider, staff):
    item = _follow_up(db, journey, provider, staff)
    patient = item.patient
    patient.phone = "+1 617 555 0199"
    db.session.flush()
    login(Role.PROVIDER, provider)
    html = client.get(f"/clinical/journeys/{journey.id}/follow-ups/{item.id}").get_data(
        as_text=True
    )
    card = html[html.index('id="whom-to-call"') :]
    assert 'href="tel:+16175550199"' in card and patient.mrn in card
    assert f"{patient.date_of_birth.day} {patient.date_of_birth:%b %Y}" in card
    assert patient.preferred_contact.label in card


def test_mark_as_missed_asks_first(client, login, db, journey, provider, staff):
    item = _follow_up(db, journey, provider, staff)
    login(Role.PROVIDER, provider)
    url = f"/clinical/journeys/{journey.id}/follow-ups/{item.id}/missed"
    page = f"/clinical/journeys/{journey.id}/follow-ups/{item.id}"
    asked = client.post_form(
        url, {"reason": "moved", "version": str(item.version)}, token_from=page
    )
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and 'name="confirmed" value="yes"' in html
    db.session.expire_all()
    assert item.status.value == "scheduled"
    done = client.post_form(
        url,
        {"reason": "moved", "version": str(item.version), "confirmed": "yes"},
        token_from=page,
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert item.status.value == "missed"


def _follow_up(db, journey, provider, staff):
    """A recovered journey's first follow-up."""
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    walk.process(journey, staff, provider)
    walk.inject(journey, provider)
    walk.recover(journey, staff)
    db.session.flush()
    return db.session.scalars(
        sa.select(m.FollowUp).where(m.FollowUp.journey_id == journey.id)
    ).first()


def test_diagnoses_are_a_searchable_checkbox_list_not_a_multi_select(
    client, login, db, journey, provider
):
    login(Role.PROVIDER, provider)
    html = client.get(f"/clinical/journeys/{journey.id}/stages/{journey.evaluation.id}").get_data(
        as_text=True
    )
    plan = html[html.index('id="conditions-form"') :].split("</form>")[0]
    assert "<select" not in plan and 'type="checkbox" name="condition_ids"' in plan
    assert "data-picker-filter" in plan and "js/picker.js" in html
    chosen = journey.conditions[0].id
    assert f'value="{chosen}" id="condition_ids-{chosen}" checked' in plan
    new = client.get(f"/clinical/patients/{journey.patient_id}/journeys/new").get_data(as_text=True)
    assert 'type="checkbox" name="condition_ids"' in new and "<select multiple" not in new


def test_the_site_form_starts_at_the_planned_target(client, login, db, journey, provider, staff):
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    walk.process(journey, staff, provider)
    stage = walk.stage_of(journey, StageKind.INJECTION)
    stages.start_stage(stage, provider)
    db.session.flush()
    login(Role.PROVIDER, provider)
    html = client.get(_url(stage)).get_data(as_text=True)
    # The first site is part of the record's form; its volume is left for the team to give.
    site = html[html.index('id="first-site"') :].split("</fieldset>")[0]
    assert '<option selected value="L4-L5">' in site and '<option selected value="disc">' in site
    assert re.search(r'<input[^>]*id="site-volume_ml"[^>]*value=""', site)
    assert 'id="site-form"' not in html
