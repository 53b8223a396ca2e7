"""Adverse events: reporting, review highlight, patients' concerns and triage; follow-up facts."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.careteam.models import BreakGlass
from clinic.journeys import models as m
from clinic.outcomes.adverse_models import AdverseEvent, ConcernStatus, PatientConcern
from clinic.timeutil import clinic_today
from tests import factories
from tests.outcomes.registry_data import treat
from tests.test_forms_as_rendered import Forms, body_of

EVENT = {
    "term_code": "deep_infection",
    "grade": "3",
    "serious_hospital": "y",
    "related_procedure": "probable",
    "related_product": "possible",
    "action_taken": "admitted",
    "outcome": "recovering",
}


def _report(client, journey, **changes):
    form = {**EVENT, "onset_on": (clinic_today() - timedelta(days=3)).isoformat(),
            "cycle_id": str(journey.cycles[0].id), **changes}  # fmt: skip
    return client.post_form(f"/journeys/{journey.id}/adverse-events/new", form)


def test_serious_event_is_highlighted_on_the_worklist_until_reviewed(
    client, login, db, make_journey, provider, staff, staff2
):
    journey = treat(make_journey, provider, staff, staff2)
    login(Role.CLINICAL_STAFF, staff)
    assert _report(client, journey).status_code == 302
    event = db.session.scalars(sa.select(AdverseEvent)).one()
    assert event.serious and event.cycle_id == journey.cycles[0].id and event.grade == 3
    assert "waiting for review" in client.get("/clinical/worklist").get_data(as_text=True)
    assert (
        client.post_form(f"/adverse-events/{event.id}/review", {"version": "1"}).status_code == 403
    )
    client.post_form("/logout")
    login(Role.PROVIDER, provider)
    reviewed = client.post_form(
        f"/adverse-events/{event.id}/review", {"version": str(event.version)}
    )
    assert reviewed.status_code == 302, reviewed.get_data(as_text=True)[-3000:]
    db.session.refresh(event)
    assert event.reviewed_by_id == provider.id
    assert "waiting for review" not in client.get("/clinical/worklist").get_data(as_text=True)


def test_an_event_edited_in_two_tabs_keeps_the_first_save_and_lets_the_second_try_again(
    client, login, db, make_journey, provider, staff, staff2
):
    """The later save of two tabs is a 409 that shows what is saved now beside the entry, with
    the current version, so saving again works; an edit that does not say which save it was
    made from is refused (400), never a 500."""
    journey = treat(make_journey, provider, staff, staff2)
    login(Role.CLINICAL_STAFF, staff)
    assert _report(client, journey).status_code == 302
    event = db.session.scalars(sa.select(AdverseEvent)).one()
    page = f"/adverse-events/{event.id}"
    form = {**EVENT, "onset_on": event.onset_on.isoformat(), "cycle_id": str(event.cycle_id)}
    first = client.post_form(page, {**form, "description": "Fever on day 3", "version": "1"})
    assert first.status_code == 302
    stale = client.post_form(page, {**form, "grade": "2", "version": "1"})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "Someone else saved this adverse event after you opened it" in html
    assert "<td>What happened</td><td>Fever on day 3</td><td>—</td>" in html  # saved now
    assert '<option selected value="2">' in html  # the entry is kept
    assert 'name="version" type="hidden" value="2"' in html
    db.session.refresh(event)
    assert event.grade == 3 and event.description == "Fever on day 3"
    again = client.post_form(page, {**form, "grade": "2", "version": "2"})
    assert again.status_code == 302
    db.session.refresh(event)
    assert event.grade == 2
    for version in ({}, {"version": ""}):
        assert client.post_form(page, {**form, **version}).status_code == 400


def test_event_rules_are_refused_beside_their_field(
    client, login, db, make_journey, provider, staff, staff2
):
    journey = treat(make_journey, provider, staff, staff2)
    login(Role.CLINICAL_STAFF, staff)
    grade5 = _report(client, journey, grade="5")
    assert grade5.status_code == 422 and "Grade 5" in grade5.get_data(as_text=True)
    ended = _report(client, journey, outcome="recovered")
    assert ended.status_code == 422 and "Give the day it ended." in ended.get_data(as_text=True)
    future = _report(client, journey, onset_on=(clinic_today() + timedelta(days=1)).isoformat())
    assert future.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(AdverseEvent.id))) == 0


def test_patient_concern_is_triaged_into_an_event_or_dismissed(
    client, login, db, make_journey, provider, staff, staff2
):
    journey = treat(make_journey, provider, staff, staff2)
    patient_user = factories.make_user(Role.PATIENT, patient=journey.patient)
    login(Role.PATIENT, patient_user)
    page = client.post_form("/my/concern", {"body": "The injection site is red and hot."})
    assert page.status_code == 302
    client.post_form("/my/concern", {"body": "My other knee aches."})
    first, second = db.session.scalars(sa.select(PatientConcern).order_by(PatientConcern.id)).all()
    assert first.journey_id == journey.id and first.status is ConcernStatus.OPEN
    assert client.get("/safety").status_code == 403
    client.post_form("/logout")
    login(Role.CLINICAL_STAFF, staff)
    assert "The injection site is red" in client.get("/safety").get_data(as_text=True)
    response = client.post_form(
        f"/journeys/{journey.id}/adverse-events/new?concern={first.id}",
        {**EVENT, "term_code": "superficial_infection", "grade": "2", "serious_hospital": "",
         "onset_on": clinic_today().isoformat()},
    )  # fmt: skip
    assert response.status_code == 302
    # closed without a reason (spaces pass the browser's own check): the list again, that
    # concern's box marked with the reason beside it, nothing closed
    refused = client.post_form(f"/concerns/{second.id}/dismiss", {"reason": "   "})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'aria-invalid="true"' in re.search(rf'<input[^>]*id="reason-{second.id}"[^>]*>', page)[0]
    assert "Say why" in page[page.index(f'id="reason-{second.id}-error"') :][:80]
    db.session.refresh(second)
    assert second.status is ConcernStatus.OPEN
    client.post_form(f"/concerns/{second.id}/dismiss", {"reason": "Not the treated area"})
    db.session.refresh(first)
    db.session.refresh(second)
    assert first.status is ConcernStatus.RECORDED and first.adverse_event_id is not None
    assert second.status is ConcernStatus.DISMISSED


def test_follow_up_needs_an_opioid_dose_and_a_missed_reason(
    client, login, db, make_journey, provider, staff, staff2
):
    journey = treat(make_journey, provider, staff, staff2)
    two, six = db.session.scalars(
        sa.select(m.FollowUp).where(m.FollowUp.journey_id == journey.id).order_by(m.FollowUp.due_on)
    ).all()[1:3]
    login(Role.PROVIDER, provider)
    path = f"/clinical/journeys/{journey.id}/follow-ups/{two.id}"
    facts = {"version": "1", "pain_medicine": "opioid", "work_status": "off_for_pain",
             "later_procedure": "surgery", "plan": "refer_surgery"}  # fmt: skip
    refused = client.post_form(path, facts)
    assert refused.status_code == 422 and "daily opioid dose" in refused.get_data(as_text=True)
    assert client.post_form(path, {**facts, "opioid_mme_per_day": "30"}).status_code == 302
    db.session.refresh(two)
    assert two.opioid_mme_per_day == 30 and two.later_procedure.value == "surgery"
    missed = f"/clinical/journeys/{journey.id}/follow-ups/{six.id}/missed"
    assert client.post_form(missed, {"version": "1"}).status_code == 422
    asked = client.post_form(missed, {"version": "1", "reason": "moved"})
    assert asked.status_code == 200 and "Yes, mark as missed" in asked.get_data(as_text=True)
    db.session.refresh(six)
    assert six.status.value == "scheduled"  # the first post only asks
    confirmed = {"version": "1", "reason": "moved", "confirmed": "yes"}
    assert client.post_form(missed, confirmed).status_code == 302
    db.session.refresh(six)
    assert six.status.value == "missed" and six.loss_reason.value == "moved"


def test_the_safety_banner_counts_concerns_with_or_without_serious_events(
    client, login, db, make_journey, provider, staff, staff2
):
    """One statement gives the serious events in the order reported and the open concerns'
    count, which comes back when no serious event waits."""
    from clinic.outcomes.adverse import safety_alerts

    journey = treat(make_journey, provider, staff, staff2)
    for _ in range(2):
        concern = PatientConcern(patient_id=journey.patient_id, journey_id=journey.id, body="sore")
        db.session.add(concern)
    db.session.flush()
    assert safety_alerts() == ([], 2)
    login(Role.CLINICAL_STAFF, staff)
    assert _report(client, journey).status_code == 302
    assert _report(client, journey).status_code == 302  # the same again: two events
    events = db.session.scalars(sa.select(AdverseEvent).order_by(AdverseEvent.id)).all()
    alerts = safety_alerts()
    assert [a.id for a in alerts.serious] == [e.id for e in events] and alerts.concerns == 2
    assert alerts.serious[0].patient_name == journey.patient.display_name
    assert safety_alerts(serious_limit=1, concern_limit=1) == (alerts.serious[:1], 1)


def test_a_provider_outside_the_care_team_is_offered_break_glass_for_an_event(
    client, login, db, make_journey, provider, staff, staff2
):
    """The safety list shows every serious event waiting for review; a covering provider who
    opens one of another team's patient gets the break-glass offer (not a dead end), and with
    a grant the event and its review."""
    journey = treat(make_journey, provider, staff, staff2)
    login(Role.CLINICAL_STAFF, staff)
    assert _report(client, journey).status_code == 302
    event = db.session.scalars(sa.select(AdverseEvent)).one()
    client.post_form("/logout")
    covering = login(Role.PROVIDER)  # a provider of no journey of this patient
    page = f"/adverse-events/{event.id}"
    offered = client.get(page)
    html = offered.get_data(as_text=True)
    assert offered.status_code == 403 and "Emergency access (break-glass)" in html
    granted = client.post_form(
        f"/care-team/patients/{journey.patient_id}/break-glass",
        {
            "reason": "emergency",
            "explanation": "Covering the safety review today",
            "password": factories.PASSWORD,
            "code": factories.current_code(covering),
            "next": page,
        },
        token_from=page,
    )
    assert granted.status_code == 302 and granted.headers["Location"] == page
    assert client.get(page).status_code == 200
    front_desk = client.post_form("/logout") and login(Role.FRONT_DESK)
    assert front_desk.role is Role.FRONT_DESK
    plain = client.get(page)
    assert plain.status_code == 403
    assert "Emergency access" not in plain.get_data(as_text=True)


def _offered_next(response) -> str:
    """The break-glass offer's hidden return address."""
    html = response.get_data(as_text=True)
    assert response.status_code == 403 and "Emergency access (break-glass)" in html
    return re.search(r'id="next" name="next" type="hidden" value="([^"]*)"', html).group(1)


def _break_glass(client, user, journey, next_: str, token_from: str):
    return client.post_form(
        f"/care-team/patients/{journey.patient_id}/break-glass",
        {
            "reason": "emergency",
            "explanation": "Covering the safety review today",
            "password": factories.PASSWORD,
            "code": factories.current_code(user),
            "next": next_,
        },
        token_from=token_from,
    )


def test_break_glass_offered_on_a_form_sent_leads_back_to_the_event_not_the_chart(
    client, login, db, make_journey, provider, staff, staff2
):
    """A review or a dismissal sent by a provider outside the care team (a grant expired while
    the page was open, or the safety list's own form) is not carried out; the grant then leads
    to the event (or the safety list), where the clinician sees the record and acts again."""
    journey = treat(make_journey, provider, staff, staff2)
    login(Role.CLINICAL_STAFF, staff)
    assert _report(client, journey).status_code == 302
    event = db.session.scalars(sa.select(AdverseEvent)).one()
    concern = PatientConcern(patient_id=journey.patient_id, journey_id=journey.id, body="sore")
    db.session.add(concern)
    db.session.flush()
    client.post_form("/logout")
    covering = login(Role.PROVIDER)
    page = f"/adverse-events/{event.id}"
    review = client.post_form(
        f"{page}/review", {"version": str(event.version)}, token_from="/safety"
    )
    assert _offered_next(review) == page
    dismiss = client.post_form(
        f"/concerns/{concern.id}/dismiss", {"reason": "Not ours"}, token_from="/safety"
    )
    assert _offered_next(dismiss) == "/safety"
    update = client.post_form(page, {"term_code": "fever"}, token_from="/safety")
    assert _offered_next(update) == page
    db.session.refresh(event)
    db.session.refresh(concern)
    assert event.reviewed_at is None and concern.status is ConcernStatus.OPEN  # nothing done
    granted = _break_glass(client, covering, journey, page, token_from="/safety")
    assert granted.status_code == 302 and granted.headers["Location"] == page
    assert "Mark this serious event as reviewed" in client.get(page).get_data(as_text=True)


def test_break_glass_never_leads_off_the_site(
    client, login, db, make_journey, provider, staff, staff2
):
    journey = treat(make_journey, provider, staff, staff2)
    covering = login(Role.PROVIDER)
    chart = f"/clinical/patients/{journey.patient_id}/chart"
    for target in ("https://evil.example.com/x", "//evil.example.com/x", "/\\evil.example.com"):
        db.session.execute(sa.delete(BreakGlass))
        response = _break_glass(client, covering, journey, target, token_from="/safety")
        assert response.status_code == 302 and response.headers["Location"] == chart


def _edit_form(html: str, page: str):
    """The event's edit form as the page renders it."""
    parser = Forms(page)
    parser.feed(html)
    return next(
        form
        for form in parser.result()
        if form.method == "post" and any(c.name == "term_code" for c in form.controls)
    )


def test_a_stale_edit_comes_back_as_a_page_that_saves_after_checking(
    client, login, db, make_journey, provider, staff, staff2
):
    journey = treat(make_journey, provider, staff, staff2)
    login(Role.CLINICAL_STAFF, staff)
    assert _report(client, journey).status_code == 302
    event = db.session.scalars(sa.select(AdverseEvent)).one()
    page = f"/adverse-events/{event.id}"
    opened = _edit_form(client.get(page).get_data(as_text=True), page)  # this tab
    first = body_of(_edit_form(client.get(page).get_data(as_text=True), page), None)
    first["description"] = "Seen by the GP."
    assert client.post(page, data=first).status_code == 302  # someone else, first
    mine = body_of(opened, None)
    mine["description"] = "Admitted for IV antibiotics."
    stale = client.post(page, data=mine)
    html = stale.get_data(as_text=True)
    assert stale.status_code == 409
    assert "Someone else saved this adverse event" in html and "Seen by the GP." in html
    again = client.post(page, data=body_of(_edit_form(html, page), None))  # checked, saved
    assert again.status_code == 302, again.get_data(as_text=True)[-2000:]
    db.session.refresh(event)
    assert event.description == "Admitted for IV antibiotics."
