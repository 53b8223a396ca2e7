"""Demo questionnaires: patients part-way through recovery, with answered and due ones."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from clinic.auth.models import User
from clinic.outcomes import services
from clinic.outcomes.instruments import get_instrument
from clinic.patients.models import Patient
from clinic.timeutil import clinic_today


def _answers_for_sum(code: str, total: int) -> dict[str, int]:
    """Spread a raw total over an instrument's items (0–5 each)."""
    items = get_instrument(code).items
    values = {}
    for index, item in enumerate(items):
        left = len(items) - index
        value = min(5, -(-total // left)) if total > 0 else 0
        values[item.code] = value
        total -= value
    return values


def _complete(patient: Patient, timepoint: str, days_ago: int, scores: dict, by: User) -> None:
    opened = clinic_today() - timedelta(days=days_ago)
    responses = services.assign(
        patient,
        list(scores),
        timepoint=timepoint,
        available_from=opened,
        due_by=opened + timedelta(days=7),
        by=None,
    )
    for response in responses:
        value = scores[response.instrument_code]
        if response.instrument_code in ("odi", "ndi"):
            answers = _answers_for_sum(response.instrument_code, value)
        else:
            answers = {get_instrument(response.instrument_code).items[0].code: value}
        services.save_answers(response, answers, by=by, submit=True)
        # demo history: answered the day after the questionnaire opened
        response.completed_at = datetime.combine(opened + timedelta(days=1), time(15), UTC)


def load_outcomes_demo(patients: dict[str, Patient], accounts: dict[str, User]) -> None:
    """Grace: three months after a lumbar injection, clearly better, 3-month set due now.
    Erik: two weeks after a cervical injection, the 2-week set started but not finished."""
    grace, grace_user = patients["okafor"], accounts["okafor"]
    _complete(grace, "baseline", 100, {"nrs_pain": 8, "nrs_radiating": 6, "odi": 23}, grace_user)
    _complete(
        grace, "6 weeks", 48, {"nrs_pain": 6, "nrs_radiating": 4, "odi": 17, "pgic": 3}, grace_user
    )
    today = clinic_today()
    services.assign(
        grace,
        ["nrs_pain", "nrs_radiating", "odi", "pgic"],
        timepoint="3 months",
        available_from=today - timedelta(days=2),
        due_by=today + timedelta(days=12),
        by=None,
    )
    erik, erik_user = patients["lindqvist"], accounts["lindqvist"]
    _complete(erik, "baseline", 20, {"nrs_pain": 7, "nrs_radiating": 5, "ndi": 22}, erik_user)
    due = services.assign(
        erik,
        ["nrs_pain", "nrs_radiating", "ndi", "pgic"],
        timepoint="2 weeks",
        available_from=today - timedelta(days=1),
        due_by=today + timedelta(days=4),
        by=None,
    )
    services.save_answers(due[0], {"axial": 5}, by=erik_user, submit=True)
    services.save_answers(due[2], {"pain": 3, "personal_care": 1}, by=erik_user, submit=False)
