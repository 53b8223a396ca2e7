"""A clinician's appointments as an iCalendar (RFC 5545) file."""

from __future__ import annotations

from urllib.parse import quote

from icalendar import Calendar, Event

from clinic.models.base import utcnow
from clinic.scheduling.models import Appointment, Status

ICAL_STATUS = {Status.CANCELLED: "CANCELLED", Status.NO_SHOW: "CANCELLED"}


def _one_line(text: str) -> str:
    """Text for a calendar property: line breaks and other controls become spaces."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def to_ical(clinician, appointments: list[Appointment], *, host: str, names: bool = True) -> bytes:
    """Events for the appointments; a subscription feed (`names=False`) leaves patients'
    names out, since calendar apps keep and sync what they fetch."""
    calendar = Calendar()
    calendar.add("prodid", "-//Clinic Journey Tracker//Scheduling//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", _one_line(f"Appointments: {clinician.full_name}"))
    stamp = utcnow()
    for appt in appointments:
        event = Event()
        event.add("uid", f"appointment-{appt.id}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", appt.starts_at)
        event.add("dtend", appt.ends_at)
        who = f"{appt.patient.display_name} ({appt.patient.mrn})" if names else appt.patient.mrn
        event.add("summary", _one_line(f"{appt.kind.label}: {who}"))
        if appt.room is not None:
            event.add("location", _one_line(appt.room.name))
        event.add("status", ICAL_STATUS.get(appt.status, "CONFIRMED"))
        event.add("description", f"Status: {appt.status.label}")
        event.add("sequence", appt.version)
        calendar.add_component(event)
    return calendar.to_ical()


def calendar_filename(clinician) -> str:
    """`appointments-<name>.ics`, the name lower-cased, whitespace runs turned into dashes."""
    words = "".join(c if c.isalnum() or c in " -_" else " " for c in clinician.full_name).split()
    return f"appointments-{'-'.join(words).lower() or clinician.id}.ics"


def attachment(filename: str) -> str:
    """A Content-Disposition for a download (RFC 6266): an ASCII fallback and `filename*`."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in filename
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
