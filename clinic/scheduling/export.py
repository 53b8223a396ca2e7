"""A clinician's appointments as an iCalendar (RFC 5545) file."""

from __future__ import annotations

from icalendar import Calendar, Event

from clinic.models.base import utcnow
from clinic.scheduling.models import Appointment, Status

ICAL_STATUS = {Status.CANCELLED: "CANCELLED", Status.NO_SHOW: "CANCELLED"}


def to_ical(clinician, appointments: list[Appointment], *, host: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", "-//Clinic Journey Tracker//Scheduling//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"Appointments: {clinician.full_name}")
    stamp = utcnow()
    for appt in appointments:
        event = Event()
        event.add("uid", f"appointment-{appt.id}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", appt.starts_at)
        event.add("dtend", appt.ends_at)
        event.add("summary", f"{appt.kind.label}: {appt.patient.display_name} ({appt.patient.mrn})")
        if appt.room is not None:
            event.add("location", appt.room.name)
        event.add("status", ICAL_STATUS.get(appt.status, "CONFIRMED"))
        event.add("description", f"Status: {appt.status.label}")
        event.add("sequence", appt.version)
        calendar.add_component(event)
    return calendar.to_ical()
