"""Read models for the chart and the worklist, each a fixed number of queries (no N+1)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from clinic.auth.models import Role, User
from clinic.careteam.models import JourneyMember, TeamRole
from clinic.careteam.services import team_patients_of
from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.services import kept
from clinic.journeys.states import OPEN_JOURNEY, StageKind, StageStatus
from clinic.models.base import UTCDateTime
from clinic.patients.models import Patient
from clinic.patients.services import search_query
from clinic.scheduling.models import LIVE_STATUSES, Appointment
from clinic.timeutil import clinic_day_bounds, clinic_today


@dataclass
class Chart:
    """A patient's journeys with their stages, and what the timeline draws beside them, each
    read as the columns it shows (names, counts) rather than as whole records."""

    patient: Patient
    journeys: list[m.Journey]
    ticks: dict[int, int] = field(default_factory=dict)  # stage id: ticked items
    checklist_sizes: dict[int, int] = field(default_factory=dict)  # template id: items
    names: dict[int, str] = field(default_factory=dict)  # user id: full name
    notes: dict[int, list[m.StageNote]] = field(default_factory=dict)
    specimens: dict[int, m.Specimen] = field(default_factory=dict)
    follow_ups: dict[int, list[m.FollowUp]] = field(default_factory=dict)

    def checklist_progress(self, stage: m.Stage) -> tuple[int, int] | None:
        if stage.checklist_template_id is None:
            return None
        return self.ticks.get(stage.id, 0), self.checklist_sizes.get(stage.checklist_template_id, 0)

    def name_of(self, user_id: int | None) -> str:
        return self.names.get(user_id, "") if user_id is not None else ""


def chart_for(patient: Patient) -> Chart:
    """The chart's journeys (cycles, conditions, targets, stages), then the checklist counts,
    notes, names, specimens and follow-ups it shows: a fixed number of statements. A stage's
    cycle comes from its journey's cycles already loaded (no statement of its own)."""
    journeys = (
        db.session.scalars(
            sa.select(m.Journey)
            .where(m.Journey.patient_id == patient.id)
            .options(
                joinedload(m.Journey.cycles),  # a few per journey: no statement of their own
                selectinload(m.Journey.conditions),
                selectinload(m.Journey.targets),
                selectinload(m.Journey.stages),
            )
            .order_by(m.Journey.created_at.desc(), m.Journey.id.desc())
        )
        .unique()
        .all()
    )
    chart = Chart(patient=patient, journeys=list(journeys))
    journey_ids = [j.id for j in journeys]
    if not journey_ids:
        return chart
    stages = [s for j in journeys for s in j.stages]
    stage_ids = sa.select(m.Stage.id).where(m.Stage.journey_id.in_(journey_ids))
    chart.ticks, chart.checklist_sizes = _checklist_counts(stages, stage_ids)
    notes = defaultdict(list)
    for note in db.session.scalars(
        sa.select(m.StageNote).where(m.StageNote.stage_id.in_(stage_ids)).order_by(m.StageNote.id)
    ):
        notes[note.stage_id].append(note)
    chart.notes = dict(notes)
    people = (
        {j.provider_id for j in journeys}
        | {
            who
            for s in stages
            for who in (s.completed_by_id, s.signed_by_id, s.ended_by_id)
            if who is not None
        }
        | {note.author_id for found in notes.values() for note in found}
    )
    chart.names = {
        user_id: name
        for user_id, name in db.session.execute(
            sa.select(User.id, User.full_name).where(User.id.in_(people))
        )
    }
    chart.specimens = {
        s.cycle_id: s
        for s in db.session.scalars(
            sa.select(m.Specimen).where(m.Specimen.journey_id.in_(journey_ids))
        )
    }
    follow_ups = defaultdict(list)
    for item in db.session.scalars(
        sa.select(m.FollowUp)
        .where(m.FollowUp.journey_id.in_(journey_ids))
        .order_by(m.FollowUp.due_on)
    ):
        follow_ups[item.journey_id].append(item)
    chart.follow_ups = dict(follow_ups)
    return chart


def _checklist_counts(
    stages: list[m.Stage], stage_ids: sa.Select
) -> tuple[dict[int, int], dict[int, int]]:
    """Ticked items per stage and items per checklist template, in one statement."""
    ticks = (
        sa.select(
            sa.literal(0, sa.Integer).label("part"),
            m.ChecklistTick.stage_id.label("key"),
            sa.func.count().label("n"),
        )
        .where(m.ChecklistTick.stage_id.in_(stage_ids))
        .group_by(m.ChecklistTick.stage_id)
    )
    templates = {s.checklist_template_id for s in stages if s.checklist_template_id is not None}
    found: tuple[dict[int, int], dict[int, int]] = ({}, {})
    statement: sa.Select | sa.CompoundSelect = ticks
    if templates:
        sizes = (
            sa.select(sa.literal(1, sa.Integer), m.ChecklistItem.template_id, sa.func.count())
            .where(m.ChecklistItem.template_id.in_(templates))
            .group_by(m.ChecklistItem.template_id)
        )
        statement = sa.union_all(ticks, sizes)
    for part, key, count in db.session.execute(statement):
        found[part][key] = count
    return found


STAFF_KINDS = (StageKind.COLLECTION, StageKind.PROCESSING, StageKind.RECOVERY)
PROCEDURE_KINDS = (StageKind.COLLECTION, StageKind.INJECTION)
FIRST_KINDS = (StageKind.EVALUATION, StageKind.COLLECTION)


WORKLIST_SHOW = ("all", "mine")
SECTIONS = ("today", "in_progress", "to_sign", "ready")
# The stage statuses each section lists (all within ix_stage_open's predicate); "today" lists
# the procedures started today whatever their status (bar cancelled).
SECTION_STATUS = {
    "in_progress": StageStatus.IN_PROGRESS,
    "to_sign": StageStatus.COMPLETED,
    "ready": StageStatus.PENDING,
}


class WorkRow(NamedTuple):
    """One stage of a worklist section, as much as the page filters and orders by."""

    section: str
    stage_id: int
    own_first: int  # 0: the patient is on the user's care team
    patient_id: int
    kind: StageKind
    in_window: int  # 1: an appointment, a start or a change in the period asked for (or none asked)


@dataclass
class WorkRows:
    """Each section's first `limit` stages (one more read tells whether the section has more)."""

    sections: dict[str, list[WorkRow]]
    limit: int
    show: str = "all"
    window: tuple[datetime, datetime] | None = None  # the period each row's in_window is for

    def capped(self, section: str) -> bool:
        return len(self.sections.get(section, [])) > self.limit


@dataclass
class Worklist:
    today: list[m.Stage]
    in_progress: list[m.Stage]
    to_sign: list[m.Stage]
    ready: list[m.Stage]
    mine: frozenset[int] = frozenset()  # shown patients who are on the user's care team
    show: str = "all"

    def all(self) -> list[m.Stage]:
        return [*self.today, *self.in_progress, *self.to_sign, *self.ready]

    def is_mine(self, stage: m.Stage) -> bool:
        return stage.journey.patient_id in self.mine


def _predecessor_done(cycle_id: sa.ColumnElement, kind: sa.ColumnElement) -> sa.ColumnElement[bool]:
    """A pending stage's predecessor in its cycle is completed or signed. The OFFSET keeps
    PostgreSQL from turning this EXISTS into a hash of every completed or signed stage (63,000
    at 100,000 patients, most of the section's time): it stays a probe of the candidate's own
    cycle through the stage's cycle index, a handful of rows per pending stage."""
    previous = sa.orm.aliased(m.Stage)
    previous_kind = sa.case(
        {"processing": "collection", "injection": "processing", "recovery": "injection"},
        value=sa.cast(kind, sa.String),
    )
    return sa.exists(
        sa.select(previous.id)
        .where(
            previous.cycle_id == cycle_id,
            sa.cast(previous.kind, sa.String) == previous_kind,
            previous.status.in_([StageStatus.COMPLETED, StageStatus.SIGNED]),
        )
        .offset(0)
    )


# Built once per (role, show, sections, limit) and run with the user and today's bounds as
# parameters: building the statement and working out its cache key each time cost more than
# the database took to answer it.
_STATEMENTS: dict[tuple, sa.Select] = {}


def _worklist_statement(
    role: Role, show: str, sections: tuple[str, ...], limit: int, windowed: bool
):
    key = (role, show, sections, limit, windowed)
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = _build_worklist_statement(*key)
    return statement


def _build_worklist_statement(
    role: Role, show: str, sections: tuple[str, ...], limit: int, windowed: bool
):
    """The sections' first `limit` + 1 stages each, in one statement, ordered as the page
    lists them (care team first, then the oldest change first), and when `windowed`, whether
    each is in the period the page filters on (worked out for these rows only).

    The candidate stages (the sections' statuses from the open-stage index, and today's
    procedures from the start-time index) are joined to their open journeys once, in one CTE
    the four sections then read, rather than each section joining its own stages to every open
    journey (four scans of the journey table). The care team is a subquery the database works
    out once and hashes (not thousands of ids bound into the statement)."""
    user_id = sa.bindparam("wl_user", type_=sa.Integer)
    day_start = sa.bindparam("wl_day_start", type_=UTCDateTime())
    day_end = sa.bindparam("wl_day_end", type_=UTCDateTime())
    if role in (Role.PROVIDER, Role.CLINICAL_STAFF):
        team = team_patients_of(user_id, day_start, day_end).cte("team")
    else:
        team = sa.select(Patient.id).where(sa.false()).cte("team")
    on_team = m.Journey.patient_id.in_(sa.select(team.c[0]))
    statuses = [SECTION_STATUS[name] for name in sections if name in SECTION_STATUS]
    ways_in: list[sa.ColumnElement[bool]] = []
    if statuses:
        ways_in.append(m.Stage.status.in_(statuses))
    if "today" in sections:
        ways_in.append(
            sa.and_(
                m.Stage.started_at >= day_start,
                m.Stage.started_at < day_end,
                m.Stage.kind.in_(PROCEDURE_KINDS),
                m.Stage.status != StageStatus.CANCELLED,
            )
        )
    scope: sa.ColumnElement[bool] = (
        sa.true() if role is Role.PROVIDER else m.Stage.kind.in_(STAFF_KINDS)
    )
    candidate = (
        sa.select(
            m.Stage.id.label("stage_id"),
            m.Stage.kind,
            m.Stage.status,
            m.Stage.cycle_id,
            m.Stage.started_at,
            m.Stage.updated_at,
            m.Journey.id.label("journey_id"),
            m.Journey.patient_id,
            m.Journey.provider_id,
            sa.case((on_team, 0), else_=1).label("own_first"),
        )
        .join(m.Stage.journey)
        .where(m.Journey.status.in_(OPEN_JOURNEY), scope, sa.or_(*ways_in))
        .cte("candidate")
    )
    c = candidate.c
    covering = sa.select(JourneyMember.journey_id).where(
        JourneyMember.user_id == user_id, JourneyMember.team_role == TeamRole.COVERING_PROVIDER
    )
    conditions: dict[str, list[sa.ColumnElement[bool]]] = {
        "today": [
            c.started_at >= day_start,
            c.started_at < day_end,
            c.kind.in_(PROCEDURE_KINDS),
            c.status != StageStatus.CANCELLED,
        ],
        "in_progress": [c.status == StageStatus.IN_PROGRESS],
        # the user's own journeys and those they cover, whoever's care team (show=mine too)
        "to_sign": [
            c.status == StageStatus.COMPLETED,
            sa.or_(c.provider_id == user_id, c.journey_id.in_(covering)),
        ],
        # "Up next": pending stages whose predecessor in the cycle is done (or the first ones).
        "ready": [
            c.status == StageStatus.PENDING,
            sa.or_(c.kind.in_(FIRST_KINDS), _predecessor_done(c.cycle_id, c.kind)),
        ],
    }
    if show == "mine":
        for name in ("today", "in_progress", "ready"):
            conditions[name].append(c.own_first == 0)
    parts = [
        sa.select(
            sa.literal_column(f"'{name}'", sa.String).label("section"),
            c.stage_id,
            c.own_first,
            c.patient_id,
            c.kind,
            c.started_at,
            c.updated_at,
        )
        .where(*conditions[name])
        .order_by(c.own_first, c.updated_at, c.stage_id)
        .limit(limit + 1)
        .subquery(name)
        for name in sections
    ]
    listed = sa.union_all(*(sa.select(part) for part in parts)).subquery("listed")
    in_window: sa.ColumnElement[int] = sa.literal_column("1", sa.Integer)
    if windowed:
        in_window = sa.case((_in_window(listed.c), 1), else_=0)
    return sa.select(
        listed.c.section,
        listed.c.stage_id,
        listed.c.own_first,
        listed.c.patient_id,
        listed.c.kind,
        in_window.label("in_window"),
    ).order_by(listed.c.own_first, listed.c.updated_at, listed.c.stage_id)


def _in_window(row) -> sa.ColumnElement[bool]:
    """The stage started or changed in the period, or its patient has a live appointment
    starting in it: a probe of that patient's appointments (the OFFSET keeps it one, rather
    than a hash of every appointment in the period)."""
    start = sa.bindparam("wl_from", type_=UTCDateTime())
    end = sa.bindparam("wl_to", type_=UTCDateTime())
    booked = sa.exists(
        sa.select(Appointment.id)
        .where(
            Appointment.patient_id == row.patient_id,
            Appointment.starts_at >= start,
            Appointment.starts_at < end,
            Appointment.status.in_(sorted(LIVE_STATUSES, key=lambda s: s.value)),
        )
        .offset(0)
    )
    return sa.or_(
        sa.and_(row.started_at >= start, row.started_at < end),
        sa.and_(row.updated_at >= start, row.updated_at < end),
        booked,
    )


def worklist_rows(
    user: User,
    limit: int = 200,
    show: str = "all",
    sections: tuple[str, ...] = SECTIONS,
    window: tuple[datetime, datetime] | None = None,
) -> WorkRows:
    """Stages waiting on this user or their team, per section, in one statement: today's
    procedures, in progress, awaiting signature (providers) and up next.

    Patients on the user's care team come first; `show="mine"` lists only them. With a
    `window` (UTC bounds), each row says whether it falls in it (`in_window`).
    """
    wanted = tuple(
        name
        for name in SECTIONS
        if name in sections and (name != "to_sign" or user.role is Role.PROVIDER)
    )  # only providers sign
    found: dict[str, list[WorkRow]] = {name: [] for name in SECTIONS}
    if wanted:
        start, end = clinic_day_bounds(clinic_today())
        db.session.flush()  # as the ORM's execute would: the rows see this request's writes

        def read() -> tuple[WorkRow, ...]:
            statement = _worklist_statement(user.role, show, wanted, limit, window is not None)
            params = {"wl_user": user.id, "wl_day_start": start, "wl_day_end": end}
            if window is not None:
                params["wl_from"], params["wl_to"] = window
            result = db.session.connection().execute(statement, params)
            return tuple(map(WorkRow._make, result))

        key = (user.id, user.role, show, wanted, limit, window, start)
        for row in kept.rows(key, read):  # in the page's order, each section's rows in turn
            found[row.section].append(row)
    return WorkRows(found, limit, show, window)


def load_stages(ids: set[int]) -> dict[int, m.Stage]:
    """These stages with their journey, patient and cycle, in one statement."""
    if not ids:
        return {}
    query = (
        sa.select(m.Stage)
        .join(m.Stage.journey)
        .join(m.Journey.patient)
        .outerjoin(m.Stage.cycle)
        .where(m.Stage.id.in_(ids))
        .options(
            contains_eager(m.Stage.journey).contains_eager(m.Journey.patient),
            contains_eager(m.Stage.cycle),
        )
    )
    return {stage.id: stage for stage in db.session.scalars(query).unique()}


def worklist_for(
    user: User, limit: int = 200, show: str = "all", sections: tuple[str, ...] = SECTIONS
) -> Worklist:
    """The worklist's sections as stages (the first `limit` of each): two statements."""
    rows = worklist_rows(user, limit, show, sections)
    kept = {name: found[:limit] for name, found in rows.sections.items()}
    stages = load_stages({r.stage_id for found in kept.values() for r in found})
    listed = {name: [stages[r.stage_id] for r in kept[name]] for name in SECTIONS}
    return Worklist(
        today=listed["today"],
        in_progress=listed["in_progress"],
        to_sign=listed["to_sign"],
        ready=listed["ready"],
        mine=frozenset(r.patient_id for found in kept.values() for r in found if r.own_first == 0),
        show=show,
    )


def find_patients(text: str, limit: int = 25) -> list[Patient]:
    """The clinical "find a patient" box: the front desk's indexed search, first `limit` rows."""

    if len((text or "").strip()) < 2:
        return []
    return list(db.session.scalars(search_query(text).query.limit(limit)))


def active_providers() -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User).where(User.role == Role.PROVIDER, User.active).order_by(User.full_name)
        )
    )
