"""The care team decides who reaches a patient; break-glass, its review, who signs, assignments."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.careteam import services as team
from clinic.careteam.models import BreakGlass, BreakGlassReason, JourneyMember
from clinic.dates import fmt_datetime
from clinic.errors import Refused
from clinic.journeys import walkthrough as walk
from clinic.journeys.states import StageStatus
from clinic.models.audit import AuditEvent
from clinic.models.base import utcnow
from clinic.policy import care_team_access
from clinic.scheduling.models import Status
from tests import factories
from tests.careteam_helpers import appointment_today
from tests.factories import current_code
from tests.scheduling.factories import make_appointment


def _chart(journey) -> str:
    return f"/clinical/patients/{journey.patient_id}/chart"


def _events(db, action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def test_a_new_provider_gets_the_break_glass_offer_not_the_chart(client, login, journey, db):
    login(Role.PROVIDER)
    response = client.get(_chart(journey))
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "is not in your care team" in html and "Emergency access (break-glass)" in html
    assert journey.patient.display_name in html and "Timeline" not in html
    assert len(_events(db, "access.outside_care_team")) == 1


def test_break_glass_asks_for_the_password_and_a_reason(client, login, journey, db):
    me = login(Role.PROVIDER)
    url = f"/care-team/patients/{journey.patient_id}/break-glass"
    wrong = client.post_form(
        url,
        {"reason": "emergency", "explanation": "Patient phoned in pain", "password": "nope" * 4},
    )
    assert wrong.status_code == 422 and "password is not correct" in wrong.get_data(as_text=True)
    assert len(_events(db, "auth.reauth_failed")) == 1
    short = client.post_form(
        url,
        {
            "reason": "other",
            "explanation": "x",
            "password": factories.PASSWORD,
            "code": current_code(me),
        },
    )
    assert short.status_code == 422 and "in a sentence" in short.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(BreakGlass.id))) == 0


def test_break_glass_opens_the_chart_for_the_configured_hours(app, client, login, journey, db):
    user = login(Role.PROVIDER)
    response = client.post_form(
        f"/care-team/patients/{journey.patient_id}/break-glass",
        {
            "reason": "emergency",
            "explanation": "Patient phoned with new leg weakness",
            "password": factories.PASSWORD,
            "code": current_code(user),
            "next": _chart(journey),
        },
        token_from=_chart(journey),
    )
    assert response.status_code == 302 and response.headers["Location"] == _chart(journey)
    grant = db.session.scalars(sa.select(BreakGlass)).one()
    assert grant.user_id == user.id and grant.reason is BreakGlassReason.EMERGENCY
    hours = app.config["BREAK_GLASS_HOURS"]
    assert grant.expires_at - grant.granted_at == timedelta(hours=hours) and hours == 4
    (event,) = _events(db, "break_glass.granted")
    assert event.patient_id == journey.patient_id and "flagged for review" in event.detail
    page = client.get(_chart(journey))
    assert page.status_code == 200 and "emergency access" in page.get_data(as_text=True)
    assert care_team_access(user, journey.patient_id) == "break_glass"
    # the end of the access in the clinic's time, as every other time is shown
    assert f"open until {fmt_datetime(grant.expires_at)};" in page.get_data(as_text=True)
    assert "UTC" not in page.get_data(as_text=True)


def test_break_glass_expires(journey, db):
    provider = factories.make_user(Role.PROVIDER)
    grant = team.grant_break_glass(
        provider, journey.patient, BreakGlassReason.COVERING, "Covering the clinic today.", 4
    )
    assert team.active_break_glass(provider, journey.patient_id) is grant
    later = utcnow() + timedelta(hours=4, seconds=1)
    assert team.active_break_glass(provider, journey.patient_id, now=later) is None


def test_front_desk_cannot_break_glass(client, login, journey):
    login(Role.FRONT_DESK)
    assert client.get(f"/care-team/patients/{journey.patient_id}/break-glass").status_code == 403
    assert client.get(_chart(journey)).status_code == 403


def test_admin_reviews_break_glass_uses(client, login, journey, db):
    nurse = factories.make_user(Role.CLINICAL_STAFF, full_name="Nurse Outsider")
    grant = team.grant_break_glass(
        nurse, journey.patient, BreakGlassReason.RESULTS, "Checking a mislabelled tube.", 4
    )
    login(Role.ADMIN)
    page = client.get("/admin/break-glass").get_data(as_text=True)
    assert "Nurse Outsider" in page and "Checking a mislabelled tube." in page
    # a note the form refuses (a pasted control character): the list again, that row's note
    # marked with the reason beside it, nothing reviewed
    refused = client.post_form(
        f"/admin/break-glass/{grant.id}/review",
        {"note": "Confirmed\x07 with lab"},
        token_from="/admin/break-glass",
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'aria-invalid="true"' in re.search(rf'<input[^>]*id="note-{grant.id}"[^>]*>', html)[0]
    assert f'id="note-{grant.id}-error"' in html
    db.session.refresh(grant)
    assert grant.reviewed_at is None
    response = client.post_form(
        f"/admin/break-glass/{grant.id}/review",
        {"note": "Confirmed with lab"},
        token_from="/admin/break-glass",
    )
    assert response.status_code == 302
    db.session.refresh(grant)
    assert grant.reviewed_at is not None and grant.review_note == "Confirmed with lab"
    assert "No break-glass uses awaiting review" in client.get("/admin/break-glass").get_data(
        as_text=True
    )
    assert "Confirmed with lab" in client.get("/admin/break-glass?show=all").get_data(as_text=True)
    assert len(_events(db, "break_glass.reviewed")) == 1
    with pytest.raises(Refused):
        team.review_break_glass(grant, "again", nurse)


# --- who may sign ----------------------------------------------------------------------------


def _completed_evaluation(journey, provider):
    return walk.evaluate(journey, provider, sign=False)


def test_only_the_responsible_or_covering_provider_signs(client, login, journey, provider, db):
    stage = _completed_evaluation(journey, provider)
    outsider = login(Role.PROVIDER)
    team.grant_break_glass(
        outsider, journey.patient, BreakGlassReason.EMERGENCY, "Seeing the patient urgently.", 4
    )
    url = f"/clinical/journeys/{journey.id}/stages/{stage.id}"
    response = client.post_form(f"{url}/sign", {"version": str(stage.version)}, token_from=url)
    assert response.status_code == 403
    assert "Only the responsible provider (Dr. Test Provider)" in response.get_data(as_text=True)
    db.session.refresh(stage)
    assert stage.status is StageStatus.COMPLETED
    team.add_member(journey, outsider, provider)
    response = client.post_form(f"{url}/sign", {"version": str(stage.version)}, token_from=url)
    assert response.status_code == 302
    db.session.refresh(stage)
    assert stage.status is StageStatus.SIGNED and stage.signed_by_id == outsider.id


def test_the_sign_service_refuses_a_provider_outside_the_journey(journey, provider, db):
    from clinic.journeys.services import stages

    stage = _completed_evaluation(journey, provider)
    other = factories.make_user(Role.PROVIDER)
    with pytest.raises(Refused, match="responsible provider"):
        stages.sign_stage(stage, other)


def test_clinical_staff_see_why_they_cannot_sign(client, login, journey, provider, staff, db):
    stage = _completed_evaluation(journey, provider)
    login(Role.CLINICAL_STAFF, staff)
    url = f"/clinical/journeys/{journey.id}/stages/{stage.id}"
    assert "Signing a stage is a provider" in client.get(url).get_data(as_text=True)
    response = client.post_form(f"{url}/sign", {"version": str(stage.version)}, token_from=url)
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("repeat", {}),
        ("targets", {"level": "L5-S1", "side": "left", "structure": "facet"}),
        ("conditions", {"condition_ids": ["1"]}),
        ("end/cancel", {"reason": "Moved away"}),
    ],
)
def test_provider_only_journey_actions_are_403_for_staff(
    client, login, journey, staff, db, path, data
):
    login(Role.CLINICAL_STAFF, staff)
    response = client.post_form(
        f"/clinical/journeys/{journey.id}/{path}", data, token_from=_chart(journey)
    )
    assert response.status_code == 403
    assert "a provider&#39;s decisions" in response.get_data(as_text=True)


# --- who is on the team ----------------------------------------------------------------------


def test_an_appointment_today_puts_the_clinician_on_the_team(journey, db):
    clinician = factories.make_user(Role.PROVIDER)
    assert not team.in_care_team(clinician, journey.patient_id)
    tomorrow = make_appointment(
        provider=clinician, patient=journey.patient, starts_at=utcnow() + timedelta(days=2)
    )
    assert not team.in_care_team(clinician, journey.patient_id)
    cancelled = appointment_today(clinician, journey.patient)
    cancelled.status, cancelled.cancel_reason = Status.CANCELLED, "test"
    db.session.flush()
    assert not team.in_care_team(clinician, journey.patient_id)
    assert tomorrow.id
    appointment_today(clinician, journey.patient)
    assert team.in_care_team(clinician, journey.patient_id)


def test_an_ended_journey_no_longer_opens_the_chart(journey, provider, staff, db):
    from clinic.journeys.services.journeys import end_journey
    from clinic.journeys.states import JourneyStatus

    assert team.in_care_team(staff, journey.patient_id)
    end_journey(journey, JourneyStatus.CANCELLED, "Moved away", provider)
    assert not team.in_care_team(staff, journey.patient_id)
    assert not team.in_care_team(provider, journey.patient_id)


def test_the_responsible_provider_changes_the_team_from_the_chart(
    client, login, journey, provider, db
):
    newcomer = factories.make_user(Role.CLINICAL_STAFF, full_name="Nurse Newcomer")
    login(Role.PROVIDER, provider)
    chart = client.get(_chart(journey)).get_data(as_text=True)
    assert "Change the care team" in chart
    page = f"/care-team/journeys/{journey.id}"
    assert "Nurse Newcomer" in client.get(page).get_data(as_text=True)
    response = client.post_form(f"{page}/members", {"user_id": str(newcomer.id)})
    assert response.status_code == 302
    member = db.session.scalars(
        sa.select(JourneyMember).where(JourneyMember.user_id == newcomer.id)
    ).one()
    assert team.in_care_team(newcomer, journey.patient_id)
    assert "Nurse Newcomer (clinical staff)" in client.get(_chart(journey)).get_data(as_text=True)
    client.post_form(f"{page}/members/{member.id}/remove", {}, token_from=page)
    assert not team.in_care_team(newcomer, journey.patient_id)
    actions = [e.action for e in db.session.scalars(sa.select(AuditEvent))]
    assert "care_team.assigned" in actions and "care_team.unassigned" in actions


def test_a_covering_provider_cannot_change_the_team(client, login, journey, provider, db):
    covering = factories.make_user(Role.PROVIDER)
    team.add_member(journey, covering, provider)
    login(Role.PROVIDER, covering)
    assert "Change the care team" not in client.get(_chart(journey)).get_data(as_text=True)
    assert client.get(f"/care-team/journeys/{journey.id}").status_code == 403


def test_an_admin_hands_the_journey_to_another_provider(client, login, journey, provider, db):
    successor = factories.make_user(Role.PROVIDER, full_name="Dr. Successor")
    team.add_member(journey, successor, provider)
    login(Role.ADMIN)
    assert "Dr. Test Provider" in client.get("/care-team/journeys").get_data(as_text=True)
    page = f"/care-team/journeys/{journey.id}"
    shown = str(journey.provider_id)
    response = client.post_form(
        f"{page}/provider", {"provider_id": str(successor.id), "shown": shown}
    )
    assert response.status_code == 302
    db.session.refresh(journey)
    assert journey.provider_id == successor.id
    assert team.covering_provider_ids(journey) == set()  # no longer listed twice
    assert len(_events(db, "care_team.provider_changed")) == 1
    # a second administrator, deciding on the page opened before that change (or a request
    # that does not say what its page showed): 409, the provider now named, nothing changed
    third = factories.make_user(Role.PROVIDER, full_name="Dr. Third")
    for sent in ({"shown": shown}, {}):
        stale = client.post_form(f"{page}/provider", {"provider_id": str(third.id), **sent})
        assert stale.status_code == 409
        html = stale.get_data(as_text=True)
        assert "it is now Dr. Successor" in html[html.index('id="provider_id-error"') :][:300]
        assert f'name="shown" type="hidden" value="{successor.id}"' in html  # choose again
        db.session.refresh(journey)
        assert journey.provider_id == successor.id
    again = client.post_form(
        f"{page}/provider", {"provider_id": str(third.id), "shown": str(successor.id)}
    )
    assert again.status_code == 302


def test_assigning_a_front_desk_account_is_refused(journey, provider, db):
    with pytest.raises(Refused):
        team.add_member(journey, factories.make_user(Role.FRONT_DESK), provider)


# --- the worklist ----------------------------------------------------------------------------


def test_worklist_lists_own_patients_first_and_filters(client, login, make_journey, db):
    other_provider = factories.make_user(Role.PROVIDER)
    theirs = make_journey(by=None)
    theirs.provider_id = other_provider.id
    me = login(Role.PROVIDER)
    mine = make_journey()
    mine.provider_id = me.id
    db.session.flush()
    html = client.get("/clinical/worklist").get_data(as_text=True)
    mine_at = html.index(mine.patient.display_name)
    theirs_at = html.index(theirs.patient.display_name)
    assert mine_at < theirs_at and "your patient" in html
    only_mine = client.get("/clinical/worklist?show=mine").get_data(as_text=True)
    assert mine.patient.display_name in only_mine
    assert theirs.patient.display_name not in only_mine
    assert client.get("/clinical/worklist?show=nobody").status_code == 400
