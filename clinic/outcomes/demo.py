"""Demo answers for the portal patients (their journeys' own questionnaires, some still due) and
the registry's demo cohort: a year of answered follow-ups, recorded follow-up facts, a missed
visit, adverse events and a patient's concern, so the registry dashboard has figures to show."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa

from clinic.auth.models import User
from clinic.extensions import db
from clinic.journeys.models import FollowUp, Journey
from clinic.journeys.services import followups
from clinic.journeys.services.journeys import record_of
from clinic.journeys.states import StageKind
from clinic.outcomes import adverse, scoring, services
from clinic.outcomes.adverse_models import SERIOUS_CRITERIA
from clinic.outcomes.instruments import get_instrument
from clinic.outcomes.models import BASELINE, QuestionnaireAnswer, QuestionnaireResponse
from clinic.outcomes.states import ResponseStatus, move_response
from clinic.timeutil import clinic_today

# Raw answers by timepoint: pain 0–10, spreading pain 0–10, disability raw sum, PGIC 1–7.
SCORES = {
    BASELINE: {"nrs_pain": 8, "nrs_radiating": 6, "odi": 23, "ndi": 21},
    "later": {"nrs_pain": 5, "nrs_radiating": 4, "odi": 16, "ndi": 15, "pgic": 2},
}


def _answers(code: str, value: int) -> scoring.Answers:
    instrument = get_instrument(code)
    if code not in ("odi", "ndi"):
        return {instrument.items[0].code: value}
    answers: scoring.Answers = {}
    left = value
    for index, item in enumerate(instrument.items):
        share = min(5, -(-left // (len(instrument.items) - index))) if left > 0 else 0
        answers[item.code] = share
        left -= share
    return answers


def _answer(response: QuestionnaireResponse, user: User, on: date) -> None:
    scores = SCORES[BASELINE if response.timepoint == BASELINE else "later"]
    value = scores[response.instrument_code]
    services.save_answers(response, _answers(response.instrument_code, value), by=user, submit=True)
    response.completed_at = datetime.combine(on, time(19), UTC)
    response.available_from = min(response.available_from, on)  # demo history, backdated


def load_outcomes_demo(accounts: dict[str, User]) -> None:
    """Answer each portal patient's baseline (before treatment) and every follow-up set whose
    window has passed; leave the open ones due, one of them half-done."""
    today = clinic_today()
    for key, user in accounts.items():
        responses = db.session.scalars(
            sa.select(QuestionnaireResponse)
            .where(QuestionnaireResponse.patient_id == user.patient_id)
            .order_by(QuestionnaireResponse.available_from, QuestionnaireResponse.id)
        ).all()
        first_follow_up = min(
            (r.available_from for r in responses if r.timepoint != BASELINE), default=today
        )
        for response in responses:
            if response.timepoint == BASELINE:
                _answer(response, user, first_follow_up - timedelta(days=20))
            elif response.due_by and response.due_by < today:
                _answer(response, user, response.due_by - timedelta(days=2))
        open_now = [r for r in responses if r.is_open and r.available_from <= today]
        if key == "lindqvist" and open_now:
            services.save_answers(open_now[0], {}, by=user, submit=False)


# The cohort's story by position in journeys.demo.COHORT_DAYS_AGO: ODI raw points lost (better)
# at each timepoint; None leaves the set unanswered (missing), "late" answers it after its
# window closed (kept, counted out of window).
STEPS = ("2 weeks", "6 weeks", "3 months", "6 months", "12 months")
COURSE: dict[int, dict[str, int | str | None]] = {
    1: {"6 months": None},  # unreachable: the 6-month visit is marked missed
    3: {"6 weeks": "late"},
    2: {"3 months": 2, "6 months": 4, "12 months": 4},  # got worse; surgery before 6 months
    6: {"3 months": None},  # left overdue
    7: {"3 months": "late"},
}
BETTER = {"2 weeks": 3, "6 weeks": 6, "3 months": 9, "6 months": 11, "12 months": 10}
LATE_BASELINE = 4  # answered five days after the injection: kept, flagged, never the baseline


def _history(response: QuestionnaireResponse, value: int, on: date, by: User) -> None:
    """Store a submitted set as answered on a past day (demo history, scored as usual)."""
    code = response.instrument_code
    instrument = get_instrument(code)
    raw = value if code in ("odi", "ndi") else max(0, min(10, value))
    if code == "pgic":
        raw = max(1, min(7, value))
    answers = _answers(code, raw)
    for item_code, item_value in answers.items():
        response.answers.append(QuestionnaireAnswer(item_code=item_code, value=item_value))
    response.available_from = min(response.available_from, on)
    response.entered_by_id, response.on_behalf = by.id, True
    completed_at = datetime.combine(on, time(15), UTC)
    in_window = services.answered_in_window(response, completed_at)
    response.score = scoring.score(instrument, answers)
    move_response(response, ResponseStatus.COMPLETED)
    response.completed_at, response.in_window = completed_at, in_window


def _value(code: str, odi_raw: int) -> int:
    """The other instruments of a set, following the disability score."""
    if code == "pgic":
        return 2 if odi_raw <= 14 else 4
    return round(odi_raw / 3) - (1 if code == "nrs_radiating" else 0)


def _answer_cohort(journey: Journey, n: int, nurse: User, today: date) -> None:
    injected = services.injection_moment(journey.cycles[0].id)
    assert injected is not None
    injected_on = injected.date()
    baseline_raw = 22 + n % 5
    course = COURSE.get(n, {})
    for response in db.session.scalars(
        sa.select(QuestionnaireResponse).where(QuestionnaireResponse.journey_id == journey.id)
    ):
        if response.timepoint == BASELINE:
            late = n == LATE_BASELINE
            day = injected_on + timedelta(days=5) if late else injected_on - timedelta(days=9)
            code = response.instrument_code
            value = baseline_raw if code == "odi" else _value(code, baseline_raw)
            _history(response, value, day, nurse)
            continue
        plan = course.get(response.timepoint, -BETTER.get(response.timepoint, 0))
        if plan is None or response.available_from > today or response.timepoint not in STEPS:
            continue
        if plan == "late":
            due = response.due_by or response.available_from
            day, change = due + timedelta(days=3), -BETTER[response.timepoint]
        else:
            day, change = response.available_from + timedelta(days=2 + n % 3), int(plan)
        if day >= today:
            continue  # not answered yet: due now
        raw = max(0, baseline_raw + change - n % 3)
        code = response.instrument_code
        _history(response, raw if code == "odi" else _value(code, raw), day, nurse)


FACTS = (
    dict(pain_medicine="none", work_status="full_duty"),
    dict(pain_medicine="non_opioid", work_status="modified_duty"),
    dict(pain_medicine="opioid", opioid_mme_per_day=Decimal("30"), work_status="off_for_pain"),
    dict(pain_medicine="non_opioid", work_status="retired"),
)


def _follow_ups(journey: Journey, n: int, provider: User, today: date) -> None:
    """Record the visits whose window has closed; one missed, one left overdue."""
    visits = db.session.scalars(
        sa.select(FollowUp)
        .where(FollowUp.cycle_id == journey.cycles[0].id)
        .order_by(FollowUp.due_on)
    )
    for follow_up in visits:
        if follow_up.window_closes_on >= today:
            continue
        if COURSE.get(n, {}).get(follow_up.label, 0) is None:
            if n == 1:
                detail = "Three calls and a letter; no answer."
                followups.mark_missed(follow_up, provider, reason="unreachable", detail=detail)
            continue  # n == 6: overdue, nobody has chased it yet
        facts = dict(FACTS[(n + follow_up.due_on.month) % len(FACTS)], plan="continue")
        if n == 2 and follow_up.label == "6 months":
            surgery_on = follow_up.due_on - timedelta(days=20)
            facts.update(later_procedure="surgery", later_procedure_on=surgery_on)
            facts["plan"] = "refer_surgery"
        followups.record_follow_up(follow_up, facts, provider)
        follow_up.completed_at = datetime.combine(follow_up.due_on, time(16), UTC)


def _backdate_work_up(journey: Journey, n: int) -> None:
    """The evaluation some weeks before the injection, the collection an hour or so before."""
    cycle = journey.cycles[0]
    injected = services.injection_moment(cycle.id)
    assert injected is not None
    evaluation = journey.evaluation
    assert evaluation is not None
    evaluation.completed_at = injected - timedelta(days=12 + 4 * n)
    evaluation.started_at = evaluation.signed_at = evaluation.completed_at
    for stage in cycle.stages:
        if stage.kind is StageKind.COLLECTION:
            stage.completed_at = injected - timedelta(minutes=50 + 7 * n)
            stage.started_at = stage.completed_at - timedelta(minutes=20)
            record_of(stage).collected_at = stage.completed_at


def _injected_journeys() -> list[Journey]:
    """Every demo journey whose first cycle has been injected."""
    journeys = db.session.scalars(sa.select(Journey).order_by(Journey.id)).all()
    return [j for j in journeys if j.cycles and services.injection_moment(j.cycles[0].id)]


def _adverse_events(cohort: list[Journey], patel: User, novak: User, today: date) -> None:
    """A mild flare, a bruise, and a serious infection still waiting for a provider's review."""
    none = {name: False for name, _label in SERIOUS_CRITERIA}
    injected = [services.injection_moment(j.cycles[0].id).date() for j in cohort]  # type: ignore[union-attr]
    events = (
        (2, patel, dict(term_code="pain_flare", grade=1, related_procedure="probable",
                        related_product="possible", action_taken="advice", outcome="recovered"),
         2, 6),
        (8, patel, dict(term_code="bruising_haematoma", grade=1, related_procedure="definite",
                        related_product="unrelated", action_taken="none", outcome="recovered"),
         1, 9),
        (11, novak, dict(term_code="deep_infection", grade=3, related_procedure="probable",
                         related_product="unlikely", action_taken="admitted",
                         outcome="recovering", serious_hospital=True,
                         description="Discitis on MRI; IV antibiotics."), 9, None),
    )  # fmt: skip
    for n, by, values, onset, resolved in events:
        day = injected[n]
        adverse.report_event(
            cohort[n],
            {
                **none,
                **values,
                "cycle_id": cohort[n].cycles[0].id,
                "onset_on": day + timedelta(days=onset),
                "resolved_on": day + timedelta(days=resolved) if resolved else None,
            },
            by,
        )


def load_registry_demo(cohort: list[Journey], accounts: dict[str, User]) -> None:
    """Answers, follow-up facts, adverse events and a concern for the registry's demo cohort."""
    today = clinic_today()
    nurse = db.session.scalar(sa.select(User).where(User.email == "nurse@demo.example.com"))
    assert nurse is not None
    providers = {j.provider_id: j.provider for j in cohort}
    for n, journey in enumerate(_injected_journeys()):
        _backdate_work_up(journey, n % 12)
    for n, journey in enumerate(cohort):
        _answer_cohort(journey, n, nurse, today)
        _follow_ups(journey, n, providers[journey.provider_id], today)
    patel, novak = sorted(providers.values(), key=lambda u: u.email)
    _adverse_events(cohort, patel, novak, today)
    grace = accounts["okafor"]
    assert grace.patient is not None
    adverse.raise_concern(
        grace.patient,
        "The injection spot is warm and red since yesterday, and it hurts more than last week.",
        today - timedelta(days=1),
        grace,
    )
    db.session.flush()
