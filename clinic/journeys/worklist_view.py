"""What the worklist page adds to the worklist query: filters (when, stage), counts per section
and per stage, and each patient's next appointment time, found in one query."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.services.queries import SECTIONS, WorkRow, WorkRows, load_stages
from clinic.journeys.states import StageKind
from clinic.scheduling.models import LIVE_STATUSES, Appointment
from clinic.timeutil import clinic_day_bounds

WHEN_CHOICES = {"any": "Any day", "today": "Today", "week": "This week"}
PER_SECTION = 25  # rows a section shows before its "Show all" link
ANCHORS = {
    "today": "wl-today",
    "in_progress": "wl-progress",
    "to_sign": "wl-sign",
    "ready": "wl-ready",
}


@dataclass
class WorklistPage:
    """The filtered sections: their counts, the stages shown (the first PER_SECTION of each, or
    all of the expanded one) and the next appointment of each patient shown."""

    rows: WorkRows
    when: str
    kind: StageKind | None
    counts: dict[str, int]
    sections: dict[str, list[m.Stage]]
    kind_counts: dict[StageKind, int]
    total: int
    expanded: str | None = None
    appointments: dict[int, Appointment] = field(default_factory=dict)
    mine: frozenset[int] = frozenset()

    @property
    def show(self) -> str:
        return self.rows.show

    def count(self, section: str) -> int:
        return self.counts[section]

    def capped(self, section: str) -> bool:
        """The section has more stages than the worklist reads: its count is a lower bound."""
        return self.rows.capped(section)

    @property
    def any_capped(self) -> bool:
        return any(self.rows.capped(section) for section in SECTIONS)

    def count_label(self, section: str) -> str:
        return f"{self.counts[section]}{'+' if self.capped(section) else ''}"

    def waiting_label(self, section: str) -> str:
        """The section's count before the page's filters (for "Review and sign")."""
        waiting = min(len(self.rows.sections[section]), self.rows.limit)
        return f"{waiting}{'+' if self.capped(section) else ''}"

    def hidden(self, section: str) -> int:
        """Stages of the section not shown on this page."""
        return self.counts[section] - len(self.sections[section])

    def is_mine(self, stage: m.Stage) -> bool:
        return stage.journey.patient_id in self.mine

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


def _in_period(row: WorkRow, bounds, appointments: dict[int, Appointment]) -> bool:
    start, end = bounds
    if row.patient_id in appointments:
        return True
    return any(
        moment is not None and start <= _aware(moment) < end
        for moment in (row.started_at, row.updated_at)
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def build_page(
    work: WorkRows,
    when: str,
    kind: StageKind | None,
    today: date,
    expanded: str | None = None,
) -> WorklistPage:
    """Apply the filters to the worklist's sections, count what is left, and load the stages
    shown: the first PER_SECTION of each section, all of the `expanded` one."""
    everything = {name: rows[: work.limit] for name, rows in work.sections.items()}
    bounds = period(when, today)
    day_start = clinic_day_bounds(today)[0]
    if bounds is not None:
        patients = {r.patient_id for rows in everything.values() for r in rows}
        in_window = next_appointments(patients, bounds[0], bounds[1])
        everything = {
            name: [r for r in rows if _in_period(r, bounds, in_window)]
            for name, rows in everything.items()
        }
    kind_counts: dict[StageKind, int] = {}
    unique = {r.stage_id: r for rows in everything.values() for r in rows}
    for row in unique.values():
        kind_counts[row.kind] = kind_counts.get(row.kind, 0) + 1
    if kind is not None:
        everything = {
            name: [r for r in rows if r.kind is kind] for name, rows in everything.items()
        }
    shown = {
        name: rows if name == expanded else rows[:PER_SECTION] for name, rows in everything.items()
    }
    stages = load_stages({r.stage_id for rows in shown.values() for r in rows})
    return WorklistPage(
        rows=work,
        when=when,
        kind=kind,
        counts={name: len(rows) for name, rows in everything.items()},
        sections={name: [stages[r.stage_id] for r in rows] for name, rows in shown.items()},
        kind_counts=kind_counts,
        total=len({r.stage_id for rows in everything.values() for r in rows}),
        expanded=expanded,
        appointments=next_appointments(
            {r.patient_id for rows in shown.values() for r in rows}, day_start
        ),
        mine=frozenset(r.patient_id for rows in shown.values() for r in rows if r.own_first == 0),
    )
