"""Where each patient on the day board is.

Today this follows the appointment's status. Once journeys exist, a procedure visit's
location comes from the journey's current stage (collection, processing, procedure,
recovery): `LOCATION_SOURCES` holds functions that may answer first.
"""

from __future__ import annotations

from collections.abc import Callable

from clinic.scheduling.models import Appointment, Status

WHERE = {
    Status.BOOKED: "Booked, not arrived",
    Status.CHECKED_IN: "Arrived, waiting",
    Status.IN_PROGRESS: "In visit",
    Status.COMPLETED: "Discharged",
    Status.NO_SHOW: "No-show",
    Status.CANCELLED: "Cancelled",
}

# Each takes an appointment and returns a location label, or None to let the next one answer.
LOCATION_SOURCES: list[Callable[[Appointment], str | None]] = []


def where_is(appointment: Appointment) -> str:
    for source in LOCATION_SOURCES:
        label = source(appointment)
        if label:
            return label
    return WHERE[appointment.status]
