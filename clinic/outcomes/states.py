"""A questionnaire response's states and the one function that writes them."""

from __future__ import annotations

import enum

from clinic.errors import Refused


class ResponseStatus(enum.Enum):
    ASSIGNED = "assigned"  # due, nothing answered yet
    IN_PROGRESS = "in_progress"  # saved part-way
    COMPLETED = "completed"  # submitted and scored
    VOIDED = "voided"  # withdrawn by staff (never deleted)


R = ResponseStatus
OPEN_RESPONSE = (R.ASSIGNED, R.IN_PROGRESS)
RESPONSE_TRANSITIONS: dict[ResponseStatus, set[ResponseStatus]] = {
    R.ASSIGNED: {R.IN_PROGRESS, R.COMPLETED, R.VOIDED},
    R.IN_PROGRESS: {R.IN_PROGRESS, R.COMPLETED, R.VOIDED},  # each draft save stays in progress
    R.COMPLETED: set(),
    R.VOIDED: set(),
}


def move_response(response, target: ResponseStatus) -> ResponseStatus:
    """The one place a questionnaire response's status is written."""
    if target not in RESPONSE_TRANSITIONS[response.status]:
        raise Refused("This questionnaire is closed and can no longer change.")
    previous = response.status
    response.status = target
    return previous
