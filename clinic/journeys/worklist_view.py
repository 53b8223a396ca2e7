"""What the worklist page adds to the worklist query: filters (when, stage), counts per section
and per stage, and the stages shown with each patient's next appointment time, in one query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

import sqlalchemy as sa

from clinic.auth.models import User
from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.services.queries import SECTIONS, WorkRows, worklist_rows
from clinic.journeys.states import StageKind, StageStatus, Therapy
from clinic.patients.models import Patient
from clinic.scheduling.models import LIVE_STATUSES, Appointment, VisitKind
from clinic.timeutil import clinic_day_bounds

WHEN_CHOICES = {"any": "Any day", "today": "Today", "week": "This week"}
PER_SECTION = 25  # rows a section shows before its "Show all" link
ANCHORS = {
    "today": "wl-today",
    "in_progress": "wl-progress",
    "to_sign": "wl-sign",
    "ready": "wl-ready",
}


class NextVisit(NamedTuple):
    """A patient's next live appointment, as the page shows it."""

    patient_id: int
    starts_at: datetime
    kind: VisitKind
    today: bool = False  # it starts on the page's day


class ShownStage(NamedTuple):
    """A stage the page shows, as the columns its row prints (not the stage, journey, patient
    and cycle records: the patient alone has 28 columns)."""

    id: int
    journey_id: int
    kind: StageKind
    status: StageStatus
    updated_at: datetime
    cycle_number: int | None
    patient_id: int
    therapy: Therapy
    family_name: str
    given_name: str
    mrn: str
    mine: bool = False  # the patient is on the user's care team
    visit: NextVisit | None = None  # the patient's next appointment from today

    @property
    def patient_name(self) -> str:
        """As `Patient.display_name` writes it: family name first."""
        return f"{self.family_name}, {self.given_name}"


@dataclass
class WorklistPage:
    """The filtered sections: their counts, the stages shown (the first PER_SECTION of each, or
    all of the expanded one) and the next appointment of each patient shown."""

    rows: WorkRows
    when: str
    kind: StageKind | None
    counts: dict[str, int]
    sections: dict[str, list[ShownStage]]
    kind_counts: dict[StageKind, int]
    total: int
    expanded: str | None = None

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


def period(when: str, today: date) -> tuple[datetime, datetime] | None:
    """The UTC bounds of "today" or "this week" (Monday to Sunday), None for any day."""
    if when == "today":
        return clinic_day_bounds(today)
    if when == "week":
        monday = today - timedelta(days=today.weekday())
        return clinic_day_bounds(monday)[0], clinic_day_bounds(monday + timedelta(days=6))[1]
    return None


def _next_visit(column: sa.orm.QueryableAttribute[Any]) -> sa.ScalarSelect:
    """The journey's patient's first live appointment from `visits_from`: its `column`. A probe
    of the patient's appointments by time (ix_appointment_patient_time) per stage shown."""
    return (
        sa.select(column)
        .where(
            Appointment.patient_id == m.Journey.patient_id,
            Appointment.starts_at >= sa.bindparam("visits_from", type_=Appointment.starts_at.type),
            Appointment.status.in_(sorted(LIVE_STATUSES, key=lambda s: s.value)),
        )
        .order_by(Appointment.starts_at, Appointment.id)
        .limit(1)
        .scalar_subquery()
    )


@cache
def _shown_statement(dialect: str) -> sa.Select:
    """The columns the page prints for the stages it shows and their patients' next visits,
    built once (its cache key too). The cycle's number is a probe of its primary key per stage:
    as an outer join, PostgreSQL hashed every cycle of the clinic (16,000 at 100,000 patients)
    for a page's hundred stages. On PostgreSQL the ids go as one array: a hundred bound values
    cost ~1 ms to render and convert on every view (too long for psycopg's cache)."""
    cycle_number = sa.select(m.Cycle.number).where(m.Cycle.id == m.Stage.cycle_id).scalar_subquery()
    if dialect == "postgresql":
        wanted = m.Stage.id == sa.any_(sa.bindparam("stage_ids", type_=sa.ARRAY(sa.Integer)))
    else:
        wanted = m.Stage.id.in_(sa.bindparam("stage_ids", expanding=True))
    return (
        sa.select(
            m.Stage.id,
            m.Stage.journey_id,
            m.Stage.kind,
            m.Stage.status,
            m.Stage.updated_at,
            cycle_number,
            m.Journey.patient_id,
            m.Journey.therapy,
            Patient.family_name,
            Patient.given_name,
            Patient.mrn,
            _next_visit(Appointment.starts_at),
            _next_visit(Appointment.kind),
        )
        .join(m.Journey, m.Journey.id == m.Stage.journey_id)
        .join(Patient, Patient.id == m.Journey.patient_id)
        .where(wanted)
    )


def shown_stages(ids: set[int], today: date) -> dict[int, ShownStage]:
    """These stages as the page prints them, each with its patient's next live appointment
    from `today` on, in one statement."""
    if not ids:
        return {}
    day_start, day_end = clinic_day_bounds(today)
    dialect = db.session.get_bind().dialect.name
    params = {"stage_ids": sorted(ids), "visits_from": day_start}
    stages: dict[int, ShownStage] = {}
    for *columns, starts_at, visit_kind in db.session.execute(_shown_statement(dialect), params):
        visit = None
        if starts_at is not None:
            visit = NextVisit(columns[6], starts_at, visit_kind, starts_at < day_end)
        stages[columns[0]] = ShownStage._make((*columns, False, visit))  # not on the team yet
    return stages


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
    if bounds is not None:  # worked out by the database with the rows
        if work.window != bounds:
            raise ValueError("the worklist rows were read for another period")
        everything = {name: [r for r in rows if r.in_window] for name, rows in everything.items()}
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
    stages = shown_stages({r.stage_id for rows in shown.values() for r in rows}, today)
    return WorklistPage(
        rows=work,
        when=when,
        kind=kind,
        counts={name: len(rows) for name, rows in everything.items()},
        sections={
            name: [stages[r.stage_id]._replace(mine=r.own_first == 0) for r in rows]
            for name, rows in shown.items()
        },
        kind_counts=kind_counts,
        total=len({r.stage_id for rows in everything.values() for r in rows}),
        expanded=expanded,
    )


def worklist_page(
    user: User,
    show: str,
    when: str,
    kind: StageKind | None,
    today: date,
    expanded: str | None = None,
) -> WorklistPage:
    """The worklist page's sections for this user: the rows (in the `when` period or not, as
    the database works out) and then the page built from them."""
    work = worklist_rows(user, show=show, window=period(when, today))
    return build_page(work, when, kind, today, expanded)
