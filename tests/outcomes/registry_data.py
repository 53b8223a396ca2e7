"""Builds treated cycles with answered questionnaires for the registry tests."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys import walkthrough as walk
from clinic.models.base import utcnow
from clinic.outcomes.models import BASELINE, QuestionnaireResponse, ResponseStatus


def treat(make_journey, provider, staff, staff2, days_ago: int = 60) -> m.Journey:
    """A PRP journey injected `days_ago` days ago and discharged (follow-ups and their sets
    generated)."""
    journey = make_journey()
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    walk.process(journey, staff, staff2)
    walk.inject(journey, provider, days_ago=days_ago)
    walk.recover(journey, staff)  # discharge starts the follow-ups and their questionnaire sets
    return journey


def response(journey: m.Journey, code: str, timepoint: str) -> QuestionnaireResponse:
    return db.session.scalars(
        sa.select(QuestionnaireResponse).where(
            QuestionnaireResponse.journey_id == journey.id,
            QuestionnaireResponse.instrument_code == code,
            QuestionnaireResponse.timepoint == timepoint,
        )
    ).one()


def complete(resp: QuestionnaireResponse, score: float, *, in_window: bool = True) -> None:
    """Mark a response answered with this score (the scoring itself is tested elsewhere)."""
    resp.status = ResponseStatus.COMPLETED
    resp.score = Decimal(str(score))
    resp.completed_at = utcnow() - timedelta(days=1)
    resp.in_window = in_window
    db.session.flush()


def answered(journey, code: str, baseline: float | None, six_weeks: float | None, **kw) -> None:
    if baseline is not None:
        complete(response(journey, code, BASELINE), baseline)
    if six_weeks is not None:
        complete(response(journey, code, "6 weeks"), six_weeks, **kw)
