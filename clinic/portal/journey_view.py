"""A patient's own treatment journey in plain words: steps done and ahead, no clinical notes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa

from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.models.custody import FollowUpStatus
from clinic.journeys.states import JourneyStatus, StageKind, StageStatus
from clinic.patients.models import Patient
from clinic.timeutil import to_clinic

THERAPY_WORDS = {
    "prp": "platelet-rich plasma (PRP) injection, prepared from your own blood",
    "bmac": "bone marrow concentrate injection, prepared from your own bone marrow",
    "adipose": "injection of cells prepared from a small amount of your own fat",
    "growth_factor": "growth factor injection",
}
STEP_WORDS = {
    StageKind.EVALUATION: "Assessment and planning with your doctor",
    StageKind.COLLECTION: {
        "prp": "A blood sample is taken from your arm",
        "bmac": "Bone marrow is collected from the back of your hip",
        "adipose": "A small amount of fat is collected",
        "growth_factor": "Your treatment is prepared",
    },
    StageKind.PROCESSING: "Your treatment is prepared in the lab",
    StageKind.INJECTION: "The injection, guided by imaging",
    StageKind.RECOVERY: "Rest and checks in the recovery area before you go home",
}
JOURNEY_WORDS = {
    JourneyStatus.EVALUATING: "We are assessing whether this treatment suits you.",
    JourneyStatus.IN_TREATMENT: "Your treatment is under way.",
    JourneyStatus.FOLLOW_UP: "Your treatment is done; we are following your recovery.",
    JourneyStatus.NOT_CANDIDATE: "After assessment, this treatment was not the right choice "
    "for you. Your doctor has talked through other options with you.",
    JourneyStatus.COMPLETED: "This treatment and its follow-up are complete.",
    JourneyStatus.CANCELLED: "This treatment plan was stopped.",
}


@dataclass
class Step:
    words: str
    state: str  # done, now, ahead, stopped
    when: date | None = None


@dataclass
class JourneyView:
    therapy_words: str
    summary: str
    steps: list[Step] = field(default_factory=list)
    follow_ups: list[Step] = field(default_factory=list)


def _stage_step(
    kind: StageKind, status: StageStatus, completed_at: datetime | None, therapy: str
) -> Step:
    words = STEP_WORDS[kind]
    if isinstance(words, dict):
        words = words[therapy]
    if status in (StageStatus.COMPLETED, StageStatus.SIGNED):
        return Step(words, "done", to_clinic(completed_at).date() if completed_at else None)
    if status is StageStatus.IN_PROGRESS:
        return Step(words, "now")
    if status is StageStatus.PENDING:
        return Step(words, "ahead")
    return Step(words, "stopped")


def _follow_up_step(follow_up: sa.Row, today: date) -> Step:
    words = f"Check-in: {follow_up.label}"
    if follow_up.status is FollowUpStatus.DONE:
        return Step(words, "done", follow_up.due_on)
    if follow_up.status in (FollowUpStatus.MISSED, FollowUpStatus.CANCELLED):
        return Step(words, "stopped", follow_up.due_on)
    state = "now" if follow_up.window_opens_on <= today <= follow_up.window_closes_on else "ahead"
    return Step(words, state, follow_up.due_on)


# Built once: building and keying a statement costs about as much as running it here.
_JOURNEY_STEPS = (
    sa.select(
        m.Journey.id,
        m.Journey.therapy,
        m.Journey.status,
        m.Stage.kind,
        m.Stage.status,
        m.Stage.completed_at,
    )
    .outerjoin(m.Stage, m.Stage.journey_id == m.Journey.id)
    .where(m.Journey.patient_id == sa.bindparam("patient_id"))
    .order_by(m.Journey.created_at.desc(), m.Journey.id.desc(), m.Stage.id)
)
_FOLLOW_UPS = (
    sa.select(
        m.FollowUp.journey_id,
        m.FollowUp.label,
        m.FollowUp.due_on,
        m.FollowUp.window_opens_on,
        m.FollowUp.window_closes_on,
        m.FollowUp.status,
    )
    .where(m.FollowUp.patient_id == sa.bindparam("patient_id"))
    .order_by(m.FollowUp.due_on, m.FollowUp.id)
)


def journeys_for(patient: Patient, today: date) -> list[JourneyView]:
    """Every journey of the patient, newest first, with its steps: two statements, reading
    only the columns the page words (journeys with their stages, then the follow-ups)."""
    mine = {"patient_id": patient.id}
    rows = db.session.execute(_JOURNEY_STEPS, mine).all()
    follow_ups = db.session.execute(_FOLLOW_UPS, mine).all()
    views: dict[int, JourneyView] = {}
    for journey_id, therapy, status, kind, stage_status, completed_at in rows:
        view = views.get(journey_id)
        if view is None:
            view = views[journey_id] = JourneyView(
                THERAPY_WORDS[therapy.value], JOURNEY_WORDS[status]
            )
        if kind is not None:
            view.steps.append(_stage_step(kind, stage_status, completed_at, therapy.value))
    for follow_up in follow_ups:
        view = views.get(follow_up.journey_id)
        if view is not None:
            view.follow_ups.append(_follow_up_step(follow_up, today))
    return list(views.values())
