"""Where each patient on the day board is.

By default this follows the appointment's status. `LOCATION_SOURCES` holds functions that
may answer first: each takes the day's appointments and the day, and returns
{appointment id: location} for those it knows, reading everything it needs in a fixed number
of queries (the board never runs a query per row). The journeys source (registered in
`clinic.scheduling.__init__`) answers from the clinical stage a patient is in today.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Protocol

from clinic.scheduling.models import Appointment, Status, VisitKind

WHERE = {
    Status.BOOKED: "Booked, not arrived",
    Status.CHECKED_IN: "Arrived, waiting",
    Status.IN_PROGRESS: "In visit",
    Status.COMPLETED: "Visit complete",
    Status.NO_SHOW: "No-show",
    Status.CANCELLED: "Cancelled",
}

# A phone check: nobody arrives or is discharged; the desk calls and reaches them or not.
PHONE_WHERE = {
    Status.BOOKED: "To call",
    Status.CHECKED_IN: "Reached, call to start",
    Status.IN_PROGRESS: "On the call",
    Status.COMPLETED: "Call done",
    Status.NO_SHOW: "Not reached",
    Status.CANCELLED: "Cancelled",
}
PHONE_ACTIONS = {
    Status.CHECKED_IN: "Reached",
    Status.IN_PROGRESS: "Start call",
    Status.COMPLETED: "Call done",
    Status.NO_SHOW: "Not reached",
    Status.CANCELLED: "Cancel",
}


class Visit(Protocol):
    """What the board reads of an appointment: the record, or the board's light row."""

    @property
    def id(self) -> int: ...
    @property
    def patient_id(self) -> int: ...
    @property
    def kind(self) -> VisitKind: ...
    @property
    def status(self) -> Status: ...
    @property
    def starts_at(self) -> datetime: ...


def status_words(appointment: Visit) -> str:
    """Where the patient is, from the status alone, in the words of the visit's kind."""
    if appointment.kind is VisitKind.PHONE_CHECK:
        return PHONE_WHERE[appointment.status]
    return WHERE[appointment.status]


LocationSource = Callable[[Sequence[Visit], date], dict[int, str]]
LOCATION_SOURCES: list[LocationSource] = []


def locations(appointments: Sequence[Visit], day: date) -> dict[int, str]:
    """{appointment id: where the patient is}; the first source that knows wins."""
    found: dict[int, str] = {}
    for source in LOCATION_SOURCES:
        for appointment_id, label in source(appointments, day).items():
            found.setdefault(appointment_id, label)
    return {a.id: found.get(a.id) or status_words(a) for a in appointments}


def where_is(appointment: Appointment, day: date) -> str:
    return locations([appointment], day)[appointment.id]
