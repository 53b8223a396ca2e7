"""Questionnaires that follow from a treatment journey: a baseline set when the journey opens
(tied to the first cycle when it opens), a new baseline for every repeat cycle, and a set for
every follow-up of the protocol, open during that follow-up's window."""

from __future__ import annotations

import sqlalchemy as sa

from clinic.auth.models import User
from clinic.extensions import db
from clinic.outcomes import registry_store
from clinic.outcomes.instruments import standard_set
from clinic.outcomes.models import BASELINE, QuestionnaireResponse
from clinic.outcomes.services import assign
from clinic.timeutil import clinic_today

NECK_CODES = ("M50", "M54.2", "S13", "M47.812")
# Follow-ups this soon after the injection are a phone check on how the patient is doing,
# too early for outcome questionnaires.
FIRST_QUESTIONNAIRE_DAY = 7


def region_of(journey) -> str:
    """cervical when the targets (or, before there are targets, the diagnoses) are the neck."""
    if journey.targets:
        return "cervical" if any(t.level.startswith("C") for t in journey.targets) else "lumbar"
    codes = [c.code or "" for c in journey.conditions]
    return "cervical" if any(code.startswith(NECK_CODES) for code in codes) else "lumbar"


def assign_baseline(journey, by: User | None) -> None:
    """The baseline set, open from today, for a newly opened journey."""
    assign(
        journey.patient,
        standard_set(region_of(journey), baseline=True),
        timepoint=BASELINE,
        available_from=clinic_today(),
        due_by=None,
        by=by,
        journey_id=journey.id,
    )


def baseline_for_cycle(journey, cycle, by: User | None) -> None:
    """The first cycle takes the journey's baseline; a repeat cycle asks for a new one."""
    if cycle.number == 1:
        db.session.execute(
            sa.update(QuestionnaireResponse)
            .where(
                QuestionnaireResponse.journey_id == journey.id,
                QuestionnaireResponse.timepoint == BASELINE,
                QuestionnaireResponse.cycle_id.is_(None),
            )
            .values(cycle_id=cycle.id)
            .execution_options(synchronize_session="fetch")
        )
        registry_store.touch_cycles([cycle.id])  # a bulk update: the ORM does not see it
        return
    assign(
        journey.patient,
        standard_set(region_of(journey), baseline=True),
        timepoint=BASELINE,
        available_from=clinic_today(),
        due_by=None,
        by=by,
        journey_id=journey.id,
        cycle_id=cycle.id,
    )


def close_baseline(cycle_id: int, injected_on) -> None:
    """After the injection day an unanswered baseline leaves the to-do list."""
    db.session.execute(
        sa.update(QuestionnaireResponse)
        .where(
            QuestionnaireResponse.cycle_id == cycle_id,
            QuestionnaireResponse.timepoint == BASELINE,
            QuestionnaireResponse.due_by.is_(None),
        )
        .values(
            due_by=sa.case(
                (
                    QuestionnaireResponse.available_from > injected_on,
                    QuestionnaireResponse.available_from,
                ),
                else_=injected_on,
            )
        )
        .execution_options(synchronize_session="fetch")
    )


def assign_for_follow_ups(journey, cycle_number: int, follow_ups, injected_on, by: User | None):
    """A set per follow-up (from a week on), open exactly during the follow-up's window."""
    codes = standard_set(region_of(journey), baseline=False)
    if follow_ups:
        close_baseline(follow_ups[0].cycle_id, injected_on)
    for follow_up in follow_ups:
        if (follow_up.due_on - injected_on).days < FIRST_QUESTIONNAIRE_DAY:
            continue
        label = (
            follow_up.label if cycle_number == 1 else f"{follow_up.label} (cycle {cycle_number})"
        )
        assign(
            journey.patient,
            codes,
            timepoint=label[:40],
            available_from=follow_up.window_opens_on,
            due_by=follow_up.window_closes_on,
            by=by,
            journey_id=journey.id,
            cycle_id=follow_up.cycle_id,
            follow_up_id=follow_up.id,
        )
