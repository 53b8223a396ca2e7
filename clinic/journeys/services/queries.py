"""Read models for the chart and the worklist, each a fixed number of queries (no N+1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from clinic.auth.models import Role, User
from clinic.careteam.models import JourneyMember, TeamRole
from clinic.careteam.services import TeamLine, team_patients_of
from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.models.custody import CustodyStep
from clinic.journeys.services import kept
from clinic.journeys.states import (
    OPEN_JOURNEY,
    FollowUpStatus,
    JourneyStatus,
    StageKind,
    StageStatus,
    Therapy,
)
from clinic.models.base import UTCDateTime
from clinic.patients.models import Patient
from clinic.patients.services import first_matches, search_query
from clinic.scheduling.models import LIVE_STATUSES, Appointment
from clinic.timeutil import clinic_day_bounds, clinic_today


class ChartCondition(NamedTuple):
    name: str
    code: str
    active: bool

    @property
    def display(self) -> str:
        return f"{self.name} ({self.code})"


class ChartTarget(NamedTuple):
    level: str
    side: str
    structure: str

    @property
    def display(self) -> str:
        return f"{self.level} {self.side} {self.structure.replace('_', ' ')}"


class ChartFollowUp(NamedTuple):
    id: int
    label: str
    status: FollowUpStatus
    due_on: date
    window_opens_on: date
    window_closes_on: date


class ChartNote(NamedTuple):
    is_addendum: bool
    author: str  # full name ("" when not found)
    written_at: datetime
    body: str


class ChartSpecimen(NamedTuple):
    id: int
    code: str
    custody_state: CustodyStep


class ChartCycle(NamedTuple):
    id: int
    number: int


@dataclass
class ChartStage:
    """A stage as the timeline shows it: people by name, checklist progress and the specimen
    of a collection."""

    id: int
    kind: StageKind
    status: StageStatus
    cycle_number: int | None
    completed_at: datetime | None
    completed_by: str
    signed_at: datetime | None
    signed_by: str
    ended_at: datetime | None
    ended_by: str
    end_reason: str | None
    progress: tuple[int, int] | None  # (ticked, items) when the stage has a checklist
    specimen: ChartSpecimen | None
    notes: list[ChartNote] = field(default_factory=list)


@dataclass
class ChartJourney:
    """A journey as the chart shows it (its `provider_id` answers `can_change_team`)."""

    id: int
    therapy: Therapy
    status: JourneyStatus
    status_reason: str | None
    created_at: datetime
    provider_id: int
    provider_name: str
    current_cycle: ChartCycle | None
    stages: list[ChartStage] = field(default_factory=list)
    conditions: list[ChartCondition] = field(default_factory=list)
    targets: list[ChartTarget] = field(default_factory=list)
    follow_ups: list[ChartFollowUp] = field(default_factory=list)
    team: list[TeamLine] = field(default_factory=list)
    version: int = 0  # what the chart's decisions (repeat, end) were taken on


@dataclass
class Chart:
    """A patient's journeys with their stages and what the timeline draws beside them, read
    as the columns it shows (names, counts) rather than as whole records."""

    patient: Patient
    journeys: list[ChartJourney]


def _chart_statements() -> tuple[sa.Select, sa.CompoundSelect]:
    """The chart's two statements, built once with the patient as a parameter: its journeys
    with their stages (one row per stage), and what each journey lists beside them
    (conditions, targets, follow-ups, care team, stage notes), all by index from the patient's
    journeys."""
    patient_id = sa.bindparam("chart_patient", type_=sa.Integer)
    provider, completed_by, signed_by, ended_by, author = (sa.orm.aliased(User) for _ in range(5))
    cycle = sa.orm.aliased(m.Cycle)
    later = sa.orm.aliased(m.Cycle)
    latest_cycle = (
        sa.select(later.id)
        .where(later.journey_id == m.Journey.id)
        .order_by(later.number.desc())
        .limit(1)
        .correlate(m.Journey)
        .scalar_subquery()
    )
    ticked = (
        sa.select(sa.func.count()).where(m.ChecklistTick.stage_id == m.Stage.id).scalar_subquery()
    )
    items = (
        sa.select(sa.func.count())
        .where(m.ChecklistItem.template_id == m.Stage.checklist_template_id)
        .scalar_subquery()
    )
    timeline = (
        sa.select(
            m.Journey.id,
            m.Journey.therapy,
            m.Journey.status,
            m.Journey.status_reason,
            m.Journey.created_at,
            m.Journey.provider_id,
            provider.full_name,
            m.Cycle.id,
            m.Cycle.number,
            m.Stage.id,
            m.Stage.kind,
            m.Stage.status,
            cycle.number,
            m.Stage.completed_at,
            completed_by.full_name,
            m.Stage.signed_at,
            signed_by.full_name,
            m.Stage.ended_at,
            ended_by.full_name,
            m.Stage.end_reason,
            m.Stage.checklist_template_id,
            ticked,
            items,
            m.Specimen.id,
            m.Specimen.code,
            m.Specimen.custody_state,
            m.Journey.version,
        )
        .select_from(m.Journey)
        .outerjoin(provider, provider.id == m.Journey.provider_id)
        .outerjoin(m.Cycle, m.Cycle.id == latest_cycle)
        .outerjoin(m.Stage, m.Stage.journey_id == m.Journey.id)
        .outerjoin(cycle, cycle.id == m.Stage.cycle_id)
        .outerjoin(completed_by, completed_by.id == m.Stage.completed_by_id)
        .outerjoin(signed_by, signed_by.id == m.Stage.signed_by_id)
        .outerjoin(ended_by, ended_by.id == m.Stage.ended_by_id)
        .outerjoin(
            m.Specimen,
            sa.and_(m.Specimen.cycle_id == m.Stage.cycle_id, m.Stage.kind == StageKind.COLLECTION),
        )
        .where(m.Journey.patient_id == patient_id)
        .order_by(m.Journey.created_at.desc(), m.Journey.id.desc(), m.Stage.id)
    )
    mine = m.Journey.patient_id == patient_id

    def typed(value, type_):
        """A column as this type in Python, in its own type in the database (a CAST would make
        SQLite's dates numbers); an empty one is a NULL cast to the type (PostgreSQL matches a
        union's columns one branch at a time, and would take a bare NULL for text)."""
        return sa.cast(sa.null(), type_) if value is None else sa.type_coerce(value, type_)

    def part(number: int, on, key, row_id, a, b=None, c=None, **more) -> sa.Select:
        """One kind of row: a journey's (or for notes, a stage's) `key`, its own id, a `ref`
        to another row, up to three texts, a flag, three dates, a time and a sort text."""
        columns = {
            "part": sa.literal(number, sa.Integer),
            "key": typed(key, sa.Integer()),
            "id": typed(row_id, sa.Integer()),
            "ref": typed(more.get("ref"), sa.Integer()),
            "a": typed(a, sa.String()),
            "b": typed(b, sa.String()),
            "c": typed(c, sa.String()),
            "flag": typed(more.get("flag", sa.false()), sa.Boolean()),
            "day": typed(more.get("day"), sa.Date()),
            "opens": typed(more.get("opens"), sa.Date()),
            "closes": typed(more.get("closes"), sa.Date()),
            "at": typed(more.get("at"), UTCDateTime()),
            "sort": typed(more.get("sort"), sa.String()),
        }
        return sa.select(*(v.label(k) for k, v in columns.items())).select_from(on).where(mine)

    journey_condition = db.metadata.tables["journey_condition"]
    member_role = sa.type_coerce(JourneyMember.team_role, sa.String())
    beside = sa.union_all(
        part(
            0,
            sa.join(m.Journey, journey_condition).join(m.Condition),
            m.Journey.id,
            m.Condition.id,
            m.Condition.name,
            m.Condition.code,
            flag=m.Condition.active,
        ),
        part(
            1,
            sa.join(m.Journey, m.TargetSite, m.TargetSite.journey_id == m.Journey.id),
            m.Journey.id,
            m.TargetSite.id,
            m.TargetSite.level,
            m.TargetSite.side,
            m.TargetSite.structure,
        ),
        part(
            2,
            sa.join(m.Journey, m.FollowUp, m.FollowUp.journey_id == m.Journey.id),
            m.Journey.id,
            m.FollowUp.id,
            m.FollowUp.label,
            sa.type_coerce(m.FollowUp.status, sa.String()),
            day=m.FollowUp.due_on,
            opens=m.FollowUp.window_opens_on,
            closes=m.FollowUp.window_closes_on,
        ),
        part(
            3,
            sa.join(m.Journey, JourneyMember, JourneyMember.journey_id == m.Journey.id).join(
                User, User.id == JourneyMember.user_id
            ),
            m.Journey.id,
            JourneyMember.id,
            User.full_name,
            member_role,
            ref=User.id,
            sort=member_role,
        ),
        part(
            4,
            sa.join(m.Journey, m.Stage, m.Stage.journey_id == m.Journey.id)
            .join(m.StageNote, m.StageNote.stage_id == m.Stage.id)
            .outerjoin(author, author.id == m.StageNote.author_id),
            m.StageNote.stage_id,
            m.StageNote.id,
            author.full_name,
            None,
            m.StageNote.body,
            flag=m.StageNote.is_addendum,
            at=m.StageNote.written_at,
        ),
    )
    # team members in role order, follow-ups by due date, the rest as entered
    beside = beside.order_by(sa.text("part"), sa.text("sort"), sa.text("day"), sa.text("id"))
    return timeline, beside


_CHART: tuple[sa.Select, sa.CompoundSelect] | None = None


def chart_for(patient: Patient) -> Chart:
    """The chart's journeys with their stages (names, checklist progress, specimens), then
    their conditions, targets, follow-ups, care team and stage notes: two statements."""
    global _CHART  # built on first use, once every model is mapped
    if _CHART is None:
        _CHART = _chart_statements()
    timeline, beside = _CHART
    db.session.flush()  # as the ORM's execute would: the rows see this request's writes
    connection = db.session.connection()
    params = {"chart_patient": patient.id}
    journeys: dict[int, ChartJourney] = {}
    stages: dict[int, ChartStage] = {}
    for row in connection.execute(timeline, params):
        journey = journeys.get(row[0])
        if journey is None:
            journey = journeys[row[0]] = ChartJourney(
                *row[:6],  # type: ignore[call-arg]
                row[6] or "",
                ChartCycle(row[7], row[8]) if row[7] else None,
            )
            journey.version = row[26]
        if row[9] is None:
            continue
        template_id, ticked, items = row[20:23]
        stage = ChartStage(
            row[9],
            row[10],
            row[11],
            row[12],
            row[13],
            row[14] or "",
            row[15],
            row[16] or "",
            row[17],
            row[18] or "",
            row[19],
            (ticked, items) if template_id is not None else None,
            ChartSpecimen(*row[23:26]) if row[23] is not None else None,
        )
        stages[stage.id] = stage
        journey.stages.append(stage)
    if journeys:
        for part, key, row_id, ref, a, b, c, flag, day, opens, closes, at, _ in connection.execute(
            beside, params
        ):
            if part == 4:
                stages[key].notes.append(ChartNote(flag, a or "", at, c))
                continue
            journey = journeys[key]
            if part == 0:
                journey.conditions.append(ChartCondition(a, b, flag))
            elif part == 1:
                journey.targets.append(ChartTarget(a, b, c))
            elif part == 2:
                journey.follow_ups.append(
                    ChartFollowUp(row_id, a, FollowUpStatus(b), day, opens, closes)
                )
            else:
                journey.team.append(TeamLine(ref, a, TeamRole(b)))
    return Chart(patient=patient, journeys=list(journeys.values()))


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
    return list(db.session.scalars(first_matches(search_query(text), limit)))


def active_providers() -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User).where(User.role == Role.PROVIDER, User.active).order_by(User.full_name)
        )
    )
