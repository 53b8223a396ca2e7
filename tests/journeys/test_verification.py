"""Second-person checks with each person's own credentials: the product's verifier and every
time-out team member; failed attempts are audited, and the audit says who confirmed what."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.errors import Refused
from clinic.journeys import walkthrough as walk
from clinic.journeys.services import gating, journeys, specimens, stages, verification
from clinic.journeys.states import StageKind
from clinic.models.audit import AuditEvent
from clinic.transaction import attempt
from tests.factories import PASSWORD


def _audits(db, action):
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


@pytest.fixture
def processing(journey, provider, staff):
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    stage = walk.stage_of(journey, StageKind.PROCESSING)
    stages.save_stage(stage, dict(processed_by_id=staff.id, final_volume_ml=6), staff)
    return stage


def test_the_verifier_confirms_with_their_own_password(db, processing, staff, staff2):
    with pytest.raises(Refused, match="own password") as err, attempt():
        stages.save_stage(processing, dict(verified_by_id=staff2.id), staff)
    assert err.value.field == "verifier_password"
    with pytest.raises(Refused, match="own password"), attempt():
        stages.save_stage(
            processing, dict(verified_by_id=staff2.id), staff, verifier_password="not it"
        )
    record = journeys.record_of(processing)
    assert record.verified_by_id is None and record.verified_at is None
    stages.save_stage(processing, dict(verified_by_id=staff2.id), staff, verifier_password=PASSWORD)
    assert record.verified_by_id == staff2.id and record.verified_at is not None
    (row,) = _audits(db, "product.verified")
    assert row.actor_id == staff2.id and "password" in row.detail
    # saving again (the page posts the same verifier) does not ask again
    stages.save_stage(processing, dict(verified_by_id=staff2.id, device="Kit"), staff)


def test_the_verifier_signed_in_confirms_by_their_session(db, processing, staff2):
    stages.save_stage(processing, dict(verified_by_id=staff2.id), staff2)
    (row,) = _audits(db, "product.verified")
    assert row.actor_id == staff2.id and "session" in row.detail


def test_a_failed_verification_is_audited_through_the_page(
    client, login, db, processing, staff, staff2
):
    login(Role.CLINICAL_STAFF, staff)
    url = f"/clinical/journeys/{processing.journey_id}/stages/{processing.id}"
    form = {
        "version": str(processing.version),
        "processed_by_id": str(staff.id),
        "verified_by_id": str(staff2.id),
        "verifier_password": "guessing",
    }
    response = client.post_form(url, form)
    assert response.status_code == 422
    assert 'id="verifier_password-error"' in response.get_data(as_text=True)
    assert len(_audits(db, "verification.failed")) == 1
    response = client.post_form(url, {**form, "verifier_password": PASSWORD})
    assert response.status_code == 302


def test_each_time_out_member_confirms_in_person(db, journey, provider, staff, staff2):
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    walk.process(journey, staff, staff2)
    stage = walk.stage_of(journey, StageKind.INJECTION)
    stages.start_stage(stage, provider)
    walk.tick_all(stage, provider)
    code = gating.specimen_of(stage.cycle).code
    with pytest.raises(Refused, match="at least 2 people"), attempt():
        specimens.confirm_time_out(stage, code, [], provider)
    with pytest.raises(Refused, match="Nurse Test must confirm"), attempt():
        specimens.confirm_time_out(stage, code, [(staff, "wrong")], provider)
    assert journeys.record_of(stage).timeout_confirmed_at is None
    specimens.confirm_time_out(stage, code, [(staff, PASSWORD)], provider)
    team = verification.team_of(stage)
    assert [(t.user_id, t.confirmed_by) for t in team] == [
        (provider.id, "session"),
        (staff.id, "password"),
    ]
    assert journeys.record_of(stage).timeout_team == "Dr. Test Provider; Nurse Test"
    actors = {row.actor_id for row in _audits(db, "timeout.member_confirmed")}
    assert actors == {provider.id, staff.id}


def test_the_time_out_team_is_chosen_from_accounts_on_the_page(
    client, login, db, journey, provider, staff, staff2
):
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    walk.process(journey, staff, staff2)
    stage = walk.stage_of(journey, StageKind.INJECTION)
    stages.start_stage(stage, provider)
    walk.tick_all(stage, provider)
    login(Role.PROVIDER, provider)
    url = f"/clinical/journeys/{journey.id}/stages/{stage.id}"
    page = client.get(url).get_data(as_text=True)
    assert 'name="members-0-user_id"' in page and 'name="members-0-password"' in page
    assert f'<option value="{staff.id}">Nurse Test</option>' in page
    assert "Team members present" not in page  # no free-text team any more
    code = gating.specimen_of(stage.cycle).code
    response = client.post_form(
        url + "/time-out",
        {"members-0-user_id": str(staff.id), "members-0-password": PASSWORD, "specimen_code": code},
        token_from=url,
    )
    assert response.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "Nurse Test confirmed" in page and "own password" in page


def test_guessing_a_colleagues_password_is_stopped_after_a_few_tries(
    client, login, db, processing, staff, staff2
):
    login(Role.CLINICAL_STAFF, staff)
    url = f"/clinical/journeys/{processing.journey_id}/stages/{processing.id}"
    form = {
        "processed_by_id": str(staff.id),
        "verified_by_id": str(staff2.id),
        "verifier_password": "guess",
    }
    for _ in range(verification.MAX_FAILURES):
        db.session.refresh(processing)
        response = client.post_form(url, {**form, "version": str(processing.version)})
        assert response.status_code == 422
    db.session.refresh(processing)
    right = {**form, "verifier_password": PASSWORD, "version": str(processing.version)}
    response = client.post_form(url, right)
    assert response.status_code == 422 and "Too many wrong passwords" in response.get_data(
        as_text=True
    )
