"""Where each patient on the day board is.

By default this follows the appointment's status. `LOCATION_SOURCES` holds functions that
may answer first: each takes the day's appointments and the day, and returns
{appointment id: location} for those it knows, reading everything it needs in a fixed number
of queries (the board never runs a query per row). The journeys source (registered in
`clinic.scheduling.__init__`) answers from the clinical stage a patient is in today.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from clinic.scheduling.models import Appointment, Status

WHERE = {
    Status.BOOKED: "Booked, not arrived",
    Status.CHECKED_IN: "Arrived, waiting",
    Status.IN_PROGRESS: "In visit",
    Status.COMPLETED: "Discharged",
    Status.NO_SHOW: "No-show",
    Status.CANCELLED: "Cancelled",
}

LocationSource = Callable[[list[Appointment], date], dict[int, str]]
LOCATION_SOURCES: list[LocationSource] = []


def locations(appointments: list[Appointment], day: date) -> dict[int, str]:
    """{appointment id: where the patient is}; the first source that knows wins."""
    found: dict[int, str] = {}
    for source in LOCATION_SOURCES:
        for appointment_id, label in source(appointments, day).items():
            found.setdefault(appointment_id, label)
    return {a.id: found.get(a.id) or WHERE[a.status] for a in appointments}


def where_is(appointment: Appointment, day: date) -> str:
    return locations([appointment], day)[appointment.id]
