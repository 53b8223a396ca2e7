"""Demo answers for the portal patients: the journeys' own questionnaires (baseline and the
protocol's follow-ups) answered as a real patient would have, some still due."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from clinic.auth.models import User
from clinic.extensions import db
from clinic.outcomes import services
from clinic.outcomes.instruments import get_instrument
from clinic.outcomes.models import BASELINE, QuestionnaireResponse
from clinic.timeutil import clinic_today

# Raw answers by timepoint: pain 0–10, spreading pain 0–10, disability raw sum, PGIC 1–7.
SCORES = {
    BASELINE: {"nrs_pain": 8, "nrs_radiating": 6, "odi": 23, "ndi": 21},
    "later": {"nrs_pain": 5, "nrs_radiating": 4, "odi": 16, "ndi": 15, "pgic": 2},
}


def _answers(code: str, value: int) -> dict[str, int]:
    instrument = get_instrument(code)
    if code not in ("odi", "ndi"):
        return {instrument.items[0].code: value}
    answers, left = {}, value
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
