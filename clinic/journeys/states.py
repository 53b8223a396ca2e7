"""The journey and stage state machines: enums, one transition table each, one writer.

Pure Python: no request, no database. Services call `move(...)`; the database mirrors the
allowed values with CHECK constraints (enum columns) and the dependent-column CHECKs on the models.
"""

from __future__ import annotations

import enum
from datetime import datetime

from clinic.errors import Refused
from clinic.models.base import utcnow


class Therapy(enum.Enum):
    PRP = "prp"
    BMAC = "bmac"
    ADIPOSE = "adipose"
    GROWTH_FACTOR = "growth_factor"

    @property
    def label(self) -> str:
        return {
            "prp": "Platelet-rich plasma (PRP)",
            "bmac": "Bone marrow aspirate concentrate (BMAC)",
            "adipose": "Adipose-derived cells",
            "growth_factor": "Growth factor",
        }[self.value]


class StageKind(enum.Enum):
    EVALUATION = "evaluation"
    COLLECTION = "collection"
    PROCESSING = "processing"
    INJECTION = "injection"
    RECOVERY = "recovery"

    @property
    def label(self) -> str:
        return {
            "evaluation": "Evaluation",
            "collection": "Cell collection",
            "processing": "Processing",
            "injection": "Guided injection",
            "recovery": "Recovery",
        }[self.value]


CYCLE_KINDS = (StageKind.COLLECTION, StageKind.PROCESSING, StageKind.INJECTION, StageKind.RECOVERY)


class StageStatus(enum.Enum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    SIGNED = "signed"
    CANCELLED = "cancelled"
    VOIDED = "voided"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class JourneyStatus(enum.Enum):
    EVALUATING = "evaluating"
    IN_TREATMENT = "in_treatment"
    FOLLOW_UP = "follow_up"
    NOT_CANDIDATE = "not_candidate"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {
            "evaluating": "Evaluating",
            "in_treatment": "In treatment",
            "follow_up": "In follow-up",
            "not_candidate": "Not a candidate",
            "completed": "Completed",
            "cancelled": "Cancelled",
        }[self.value]


class FollowUpStatus(enum.Enum):
    SCHEDULED = "scheduled"
    DONE = "done"
    MISSED = "missed"
    CANCELLED = "cancelled"


S = StageStatus
STAGE_TRANSITIONS: dict[StageStatus, frozenset[StageStatus]] = {
    S.PENDING: frozenset({S.IN_PROGRESS, S.CANCELLED}),
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.CANCELLED}),
    S.COMPLETED: frozenset({S.SIGNED, S.IN_PROGRESS, S.VOIDED}),
    S.SIGNED: frozenset({S.VOIDED}),
    S.CANCELLED: frozenset(),
    S.VOIDED: frozenset(),
}

J = JourneyStatus
JOURNEY_TRANSITIONS: dict[JourneyStatus, frozenset[JourneyStatus]] = {
    J.EVALUATING: frozenset({J.IN_TREATMENT, J.NOT_CANDIDATE, J.CANCELLED}),
    J.IN_TREATMENT: frozenset({J.FOLLOW_UP, J.CANCELLED}),
    J.FOLLOW_UP: frozenset({J.IN_TREATMENT, J.COMPLETED, J.CANCELLED}),
    J.NOT_CANDIDATE: frozenset(),
    J.COMPLETED: frozenset(),
    J.CANCELLED: frozenset(),
}

OPEN_JOURNEY = (J.EVALUATING, J.IN_TREATMENT, J.FOLLOW_UP)  # still going on (a tuple for SQL IN)
OPEN_STAGE = frozenset({S.PENDING, S.IN_PROGRESS})
DONE_STAGE = frozenset({S.COMPLETED, S.SIGNED})
LOCKED_STAGE = frozenset({S.SIGNED, S.CANCELLED, S.VOIDED})  # fields frozen, notes are addenda


def can_move(table: dict, current: enum.Enum, target: enum.Enum) -> bool:
    return target in table[current]


def move_stage(stage, target: StageStatus, by, at: datetime | None = None) -> StageStatus:
    """The one place a stage's status is written; stamps who and when for the new state."""
    if not can_move(STAGE_TRANSITIONS, stage.status, target):
        raise Refused(
            f"This stage is {stage.status.label.lower()}: it cannot become {target.label.lower()}."
        )
    at = at or utcnow()
    previous = stage.status
    stage.status = target
    if target is S.IN_PROGRESS:
        stage.started_at = stage.started_at or at
        stage.completed_at = stage.completed_by_id = None
    elif target is S.COMPLETED:
        stage.completed_at, stage.completed_by_id = at, by.id
    elif target is S.SIGNED:
        stage.signed_at, stage.signed_by_id = at, by.id
    elif target in (S.CANCELLED, S.VOIDED):
        stage.ended_at, stage.ended_by_id = at, by.id
    return previous


def move_journey(journey, target: JourneyStatus) -> JourneyStatus:
    """The one place a journey's status is written."""
    if not can_move(JOURNEY_TRANSITIONS, journey.status, target):
        raise Refused(
            f"A journey that is {journey.status.label.lower()} cannot become "
            f"{target.label.lower()}."
        )
    previous = journey.status
    journey.status = target
    return previous


F = FollowUpStatus
# A follow-up is recorded or missed once; a cancelled one (its journey ended) stays cancelled.
FOLLOW_UP_TRANSITIONS: dict[FollowUpStatus, set[FollowUpStatus]] = {
    F.SCHEDULED: {F.DONE, F.MISSED, F.CANCELLED},
    F.DONE: set(),
    F.MISSED: set(),
    F.CANCELLED: set(),
}


def move_follow_up(follow_up, target: FollowUpStatus) -> FollowUpStatus:
    """The one place a follow-up's status is written."""
    if not can_move(FOLLOW_UP_TRANSITIONS, follow_up.status, target):
        raise Refused(f"This follow-up is already {follow_up.status.value}.")
    previous = follow_up.status
    follow_up.status = target
    return previous
