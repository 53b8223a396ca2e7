"""The complete stage and journey transition tables, allowed and forbidden, one test each."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from clinic.errors import Refused
from clinic.journeys.states import (
    JOURNEY_TRANSITIONS,
    STAGE_TRANSITIONS,
    JourneyStatus,
    StageStatus,
    move_journey,
    move_stage,
)

ALLOWED_STAGE = {
    ("pending", "in_progress"),
    ("pending", "cancelled"),
    ("in_progress", "completed"),
    ("in_progress", "cancelled"),
    ("completed", "signed"),
    ("completed", "in_progress"),
    ("completed", "voided"),
    ("signed", "voided"),
}
ALLOWED_JOURNEY = {
    ("evaluating", "in_treatment"),
    ("evaluating", "not_candidate"),
    ("evaluating", "cancelled"),
    ("in_treatment", "follow_up"),
    ("in_treatment", "cancelled"),
    ("follow_up", "in_treatment"),
    ("follow_up", "completed"),
    ("follow_up", "cancelled"),
}


def test_tables_are_exactly_the_documented_ones():
    stage = {(a.value, b.value) for a, targets in STAGE_TRANSITIONS.items() for b in targets}
    journey = {(a.value, b.value) for a, targets in JOURNEY_TRANSITIONS.items() for b in targets}
    assert stage == ALLOWED_STAGE
    assert journey == ALLOWED_JOURNEY


@pytest.mark.parametrize("current", list(StageStatus), ids=lambda s: s.value)
@pytest.mark.parametrize("target", list(StageStatus), ids=lambda s: s.value)
def test_stage_transition(current, target):
    stage = SimpleNamespace(
        status=current,
        started_at=None,
        completed_at=None,
        completed_by_id=None,
        signed_at=None,
        signed_by_id=None,
        ended_at=None,
        ended_by_id=None,
    )
    by = SimpleNamespace(id=7)
    if (current.value, target.value) in ALLOWED_STAGE:
        assert move_stage(stage, target, by) is current
        assert stage.status is target
        if target is StageStatus.SIGNED:
            assert stage.signed_by_id == 7 and stage.signed_at is not None
        if target is StageStatus.COMPLETED:
            assert stage.completed_by_id == 7 and stage.completed_at is not None
    else:
        with pytest.raises(Refused):
            move_stage(stage, target, by)
        assert stage.status is current


@pytest.mark.parametrize("current", list(JourneyStatus), ids=lambda s: s.value)
@pytest.mark.parametrize("target", list(JourneyStatus), ids=lambda s: s.value)
def test_journey_transition(current, target):
    journey = SimpleNamespace(status=current)
    if (current.value, target.value) in ALLOWED_JOURNEY:
        move_journey(journey, target)
        assert journey.status is target
    else:
        with pytest.raises(Refused):
            move_journey(journey, target)
        assert journey.status is current
