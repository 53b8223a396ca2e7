"""What the worklist page adds to the worklist query: filters (when, stage), counts per section
and per stage, and each patient's next appointment time, found in one query."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.services.queries import Worklist
from clinic.journeys.states import StageKind
from clinic.scheduling.models import LIVE_STATUSES, Appointment
from clinic.timeutil import clinic_day_bounds

WHEN_CHOICES = {"any": "Any day", "today": "Today", "week": "This week"}
SECTIONS = ("today", "in_progress", "to_sign", "ready")


@dataclass
class WorklistPage:
    """The filtered sections, their counts, and the next appointment of each patient shown."""

    work: Worklist
    when: str
    kind: StageKind | None
    sections: dict[str, list[m.Stage]]
    kind_counts: dict[StageKind, int]
    appointments: dict[int, Appointment] = field(default_factory=dict)

    def count(self, section: str) -> int:
        return len(self.sections[section])

    @property
    def total(self) -> int:
        """Stages listed (one listed in two sections, e.g. today's and to sign, counts once)."""
        return len({s.id for rows in self.sections.values() for s in rows})

    def appointment_of(self, stage: m.Stage) -> Appointment | None:
        return self.appointments.get(stage.journey.patient_id)


def period(when: str, today: date) -> tuple[datetime, datetime] | None:
    """The UTC bounds of "today" or "this week" (Monday to Sunday), None for any day."""
    if when == "today":
        return clinic_day_bounds(today)
    if when == "week":
        monday = today - timedelta(days=today.weekday())
        return clinic_day_bounds(monday)[0], clinic_day_bounds(monday + timedelta(days=6))[1]
    return None


def next_appointments(
    patient_ids: set[int], start: datetime, end: datetime | None = None
) -> dict[int, Appointment]:
    """Each patient's first live appointment from `start` (before `end`), in one query."""
    if not patient_ids:
        return {}
    query = (
        sa.select(Appointment)
        .where(
            Appointment.patient_id.in_(patient_ids),
            Appointment.starts_at >= start,
            Appointment.status.in_(list(LIVE_STATUSES)),
        )
        .order_by(Appointment.starts_at, Appointment.id)
    )
    if end is not None:
        query = query.where(Appointment.starts_at < end)
    first: dict[int, Appointment] = {}
    for appointment in db.session.scalars(query):
        first.setdefault(appointment.patient_id, appointment)
    return first


def _in_period(stage: m.Stage, bounds, appointments: dict[int, Appointment]) -> bool:
    start, end = bounds
    if stage.journey.patient_id in appointments:
        return True
    return any(
        moment is not None and start <= _aware(moment) < end
        for moment in (stage.started_at, stage.updated_at)
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def build_page(work: Worklist, when: str, kind: StageKind | None, today: date) -> WorklistPage:
    """Apply the filters to the worklist's sections and count what is left."""
    everything = {section: list(getattr(work, section)) for section in SECTIONS}
    patients = {s.journey.patient_id for rows in everything.values() for s in rows}
    bounds = period(when, today)
    day_start = clinic_day_bounds(today)[0]
    if bounds is not None:
        in_window = next_appointments(patients, bounds[0], bounds[1])
        everything = {
            name: [s for s in rows if _in_period(s, bounds, in_window)]
            for name, rows in everything.items()
        }
    kind_counts: dict[StageKind, int] = {}
    unique = {s.id: s for rows in everything.values() for s in rows}
    for stage in unique.values():
        kind_counts[stage.kind] = kind_counts.get(stage.kind, 0) + 1
    if kind is not None:
        everything = {
            name: [s for s in rows if s.kind is kind] for name, rows in everything.items()
        }
    shown = {s.journey.patient_id for rows in everything.values() for s in rows}
    return WorklistPage(
        work=work,
        when=when,
        kind=kind,
        sections=everything,
        kind_counts=kind_counts,
        appointments=next_appointments(shown, day_start),
    )
