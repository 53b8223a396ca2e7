"""A clinician's appointments as an iCalendar (RFC 5545) file."""

from __future__ import annotations

from icalendar import Calendar, Event

from clinic.models.base import utcnow
from clinic.scheduling.models import Appointment, Status

ICAL_STATUS = {Status.CANCELLED: "CANCELLED", Status.NO_SHOW: "CANCELLED"}


def to_ical(clinician, appointments: list[Appointment], *, host: str, names: bool = True) -> bytes:
    """Events for the appointments; a subscription feed (`names=False`) leaves patients'
    names out, since calendar apps keep and sync what they fetch."""
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
        who = f"{appt.patient.display_name} ({appt.patient.mrn})" if names else appt.patient.mrn
        event.add("summary", f"{appt.kind.label}: {who}")
        if appt.room is not None:
            event.add("location", appt.room.name)
        event.add("status", ICAL_STATUS.get(appt.status, "CONFIRMED"))
        event.add("description", f"Status: {appt.status.label}")
        event.add("sequence", appt.version)
        calendar.add_component(event)
    return calendar.to_ical()
