"""Answers tied to their cycle and follow-up; window rules at their edges; baselines."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from clinic.journeys import models as m
from clinic.journeys.services import journeys as journey_services
from clinic.journeys.states import JourneyStatus
from clinic.outcomes import services
from clinic.outcomes.models import BASELINE, QuestionnaireResponse
from clinic.timeutil import clinic_today, clinic_tz
from tests.outcomes.registry_data import complete, response, treat


def _at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=clinic_tz())


def test_follow_up_sets_belong_to_their_cycle_and_follow_up(
    db, make_journey, provider, staff, staff2
):
    journey = treat(make_journey, provider, staff, staff2)
    cycle = journey.cycles[0]
    six = response(journey, "odi", "6 weeks")
    follow_up = db.session.get(m.FollowUp, six.follow_up_id)
    assert six.cycle_id == cycle.id and follow_up.label == "6 weeks"
    assert (six.available_from, six.due_by) == (
        follow_up.window_opens_on,
        follow_up.window_closes_on,
    )
    baseline = response(journey, "odi", BASELINE)
    assert baseline.cycle_id == cycle.id and baseline.follow_up_id is None


def test_window_edges_count_both_ends(db, make_journey, provider, staff, staff2):
    six = response(treat(make_journey, provider, staff, staff2), "odi", "6 weeks")
    opens, closes = six.available_from, six.due_by
    assert services.answered_in_window(six, _at(opens, 0))
    assert services.answered_in_window(six, _at(closes, 23))
    assert not services.answered_in_window(six, _at(opens - timedelta(days=1), 23))
    assert not services.answered_in_window(six, _at(closes + timedelta(days=1), 0))


def test_baseline_answered_after_the_injection_is_kept_flagged_and_unused(
    db, make_journey, provider, staff, staff2
):
    journey = treat(make_journey, provider, staff, staff2, days_ago=60)
    baseline = response(journey, "odi", BASELINE)
    moment = services.injection_moment(journey.cycles[0].id)
    assert services.answered_in_window(baseline, moment - timedelta(minutes=1))
    assert not services.answered_in_window(baseline, moment)
    complete(baseline, 50, in_window=False)
    complete(response(journey, "odi", "6 weeks"), 30)
    assert baseline.late_baseline
    odi = next(
        p
        for p in services.progress(services.responses_for(journey.patient))
        if p.instrument.code == "odi"
    )
    assert odi.baseline is None and odi.points[-1].change is None


def test_unanswered_baseline_closes_on_the_injection_day(db, make_journey, provider, staff, staff2):
    journey = treat(make_journey, provider, staff, staff2, days_ago=0)
    baseline = response(journey, "odi", BASELINE)
    assert baseline.due_by == clinic_today()
    assert services.due_now([baseline], clinic_today()) == [baseline]
    assert services.due_now([baseline], clinic_today() + timedelta(days=1)) == []


def test_expired_sets_leave_the_to_do_list(db, make_journey, provider, staff, staff2):
    journey = treat(make_journey, provider, staff, staff2, days_ago=45)
    two = response(journey, "odi", "2 weeks")  # window closed on day 18; 6 weeks open 32–52
    six = response(journey, "odi", "6 weeks")
    due = services.due_now(services.responses_for(journey.patient), clinic_today())
    assert two not in due and six in due
    assert services.due_now([six], six.due_by) == [six]
    assert services.due_now([six], six.due_by + timedelta(days=1)) == []


def test_repeat_cycle_asks_for_a_new_baseline(db, make_journey, provider, staff, staff2):
    journey = treat(make_journey, provider, staff, staff2)
    assert journey.status is JourneyStatus.FOLLOW_UP
    cycle2 = journey_services.open_repeat_cycle(journey, provider)
    baselines = db.session.scalars(
        sa.select(QuestionnaireResponse).where(
            QuestionnaireResponse.journey_id == journey.id,
            QuestionnaireResponse.timepoint == BASELINE,
        )
    ).all()
    by_cycle = {r.cycle_id for r in baselines}
    assert by_cycle == {journey.cycles[0].id, cycle2.id}
    fresh = [r for r in baselines if r.cycle_id == cycle2.id]
    assert fresh and all(r.is_open and r.due_by is None for r in fresh)
