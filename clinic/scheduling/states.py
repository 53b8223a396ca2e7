"""The appointment status machine: one transition table, pure Python."""

from __future__ import annotations

from clinic.scheduling.models import Status

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.BOOKED: frozenset({Status.CHECKED_IN, Status.NO_SHOW, Status.CANCELLED}),
    Status.CHECKED_IN: frozenset({Status.IN_PROGRESS, Status.CANCELLED}),
    Status.IN_PROGRESS: frozenset({Status.COMPLETED}),
    Status.COMPLETED: frozenset(),
    Status.NO_SHOW: frozenset(),
    Status.CANCELLED: frozenset(),
}

# What the action that reaches each status is called on buttons.
ACTION_LABELS = {
    Status.CHECKED_IN: "Check in",
    Status.IN_PROGRESS: "Start visit",
    Status.COMPLETED: "Complete",
    Status.NO_SHOW: "No-show",
    Status.CANCELLED: "Cancel",
}


def can_move(current: Status, target: Status) -> bool:
    return target in TRANSITIONS[current]


def next_actions(current: Status) -> list[Status]:
    """The statuses reachable from here, in the order buttons show them (cancel last)."""
    order = [Status.CHECKED_IN, Status.IN_PROGRESS, Status.COMPLETED, Status.NO_SHOW]
    return [s for s in order if s in TRANSITIONS[current]]
