"""Follow-up recording and the due list; the worklist's sections; refused writes leave nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.errors import Refused
from clinic.journeys import models as m
from clinic.journeys import walkthrough as walk
from clinic.journeys.models.custody import FollowUpStatus
from clinic.journeys.services import followups, stages
from clinic.journeys.services.queries import worklist_for
from clinic.journeys.states import StageKind, StageStatus
from clinic.models.audit import AuditEvent


@pytest.fixture
def treated(journey, provider, staff, staff2):
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    walk.process(journey, staff, staff2)
    walk.inject(journey, provider)
    walk.recover(journey, staff)
    return journey


def _follow_ups(db, journey):
    return db.session.scalars(
        sa.select(m.FollowUp).where(m.FollowUp.journey_id == journey.id).order_by(m.FollowUp.due_on)
    ).all()


def test_due_follow_ups_are_those_whose_window_is_open(db, treated, provider):
    first, two_weeks = _follow_ups(db, treated)[:2]
    assert first in followups.due_follow_ups(first.due_on)
    assert two_weeks not in followups.due_follow_ups(first.due_on)
    assert two_weeks in followups.due_follow_ups(two_weeks.window_opens_on)
    assert two_weeks not in followups.due_follow_ups(two_weeks.window_closes_on + timedelta(1))
    assert first in followups.due_follow_ups(first.due_on, provider_id=provider.id)
    assert followups.due_follow_ups(first.due_on, provider_id=provider.id + 999) == []


def test_follow_up_is_recorded_with_plan_and_who(client, login, db, treated, provider):
    item = _follow_ups(db, treated)[1]
    login(Role.PROVIDER, provider)
    path = f"/clinical/journeys/{treated.id}/follow-ups/{item.id}"
    facts = {"pain_medicine": "non_opioid", "work_status": "full_duty", "later_procedure": "none"}
    response = client.post_form(path, {"version": "1", **facts})
    assert response.status_code == 422 and "Choose the plan." in response.get_data(as_text=True)
    response = client.post_form(path, {"version": "1", **facts, "plan": "continue"})
    assert response.status_code == 302
    db.session.refresh(item)
    assert item.status is FollowUpStatus.DONE and item.completed_by_id == provider.id
    assert item.pain_medicine.value == "non_opioid" and item.plan == "continue"
    stale = client.post_form(path, {"version": "1", **facts, "plan": "discharge"})
    assert stale.status_code == 409
    db.session.refresh(item)
    assert item.plan == "continue"


def test_refused_completion_writes_nothing(db, journey, provider):
    stage = journey.evaluation
    stages.start_stage(stage, provider)
    db.session.flush()
    before = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    version = stage.version
    with pytest.raises(Refused):
        stages.complete_stage(stage, provider)
    assert stage.status is StageStatus.IN_PROGRESS and stage.version == version
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == before


def test_worklist_sections(db, journey, provider, staff, staff2):
    walk.evaluate(journey, provider)
    work = worklist_for(staff)
    assert [s.kind for s in work.ready] == [StageKind.COLLECTION]
    walk.collect(journey, staff)
    assert walk.stage_of(journey, StageKind.COLLECTION) in worklist_for(staff).today
    mine = worklist_for(provider)
    assert walk.stage_of(journey, StageKind.COLLECTION) in mine.to_sign
    assert walk.stage_of(journey, StageKind.PROCESSING) in mine.ready
    assert worklist_for(staff2).to_sign == []  # only providers sign
