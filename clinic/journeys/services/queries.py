"""Read models for the chart and the worklist, each a fixed number of queries (no N+1)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, selectinload

from clinic.auth.models import Role, User
from clinic.careteam.models import JourneyMember, TeamRole
from clinic.careteam.services import team_patients
from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.states import OPEN_JOURNEY, StageKind, StageStatus
from clinic.patients.models import Patient
from clinic.patients.services import search_query
from clinic.timeutil import clinic_day_bounds, clinic_today


@dataclass
class Chart:
    patient: Patient
    journeys: list[m.Journey]
    ticks: dict[int, int] = field(default_factory=dict)
    notes: dict[int, list[m.StageNote]] = field(default_factory=dict)
    specimens: dict[int, m.Specimen] = field(default_factory=dict)
    follow_ups: dict[int, list[m.FollowUp]] = field(default_factory=dict)

    def checklist_progress(self, stage: m.Stage) -> tuple[int, int] | None:
        if stage.checklist_template is None:
            return None
        return self.ticks.get(stage.id, 0), len(stage.checklist_template.items)


def chart_for(patient: Patient) -> Chart:
    journeys = db.session.scalars(
        sa.select(m.Journey)
        .where(m.Journey.patient_id == patient.id)
        .options(
            selectinload(m.Journey.provider),
            selectinload(m.Journey.conditions),
            selectinload(m.Journey.targets),
            selectinload(m.Journey.cycles),
            selectinload(m.Journey.stages).options(
                selectinload(m.Stage.cycle),
                selectinload(m.Stage.completed_by),
                selectinload(m.Stage.signed_by),
                selectinload(m.Stage.ended_by),
                selectinload(m.Stage.checklist_template).selectinload(m.ChecklistTemplate.items),
            ),
        )
        .order_by(m.Journey.created_at.desc(), m.Journey.id.desc())
    ).all()
    chart = Chart(patient=patient, journeys=list(journeys))
    journey_ids = [j.id for j in journeys]
    if not journey_ids:
        return chart
    stage_ids = sa.select(m.Stage.id).where(m.Stage.journey_id.in_(journey_ids))
    chart.ticks = dict(
        db.session.execute(
            sa.select(m.ChecklistTick.stage_id, sa.func.count())
            .where(m.ChecklistTick.stage_id.in_(stage_ids))
            .group_by(m.ChecklistTick.stage_id)
        ).all()
    )
    notes = defaultdict(list)
    for note in db.session.scalars(
        sa.select(m.StageNote)
        .where(m.StageNote.stage_id.in_(stage_ids))
        .options(selectinload(m.StageNote.author))
        .order_by(m.StageNote.id)
    ):
        notes[note.stage_id].append(note)
    chart.notes = dict(notes)
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


STAFF_KINDS = (StageKind.COLLECTION, StageKind.PROCESSING, StageKind.RECOVERY)
PROCEDURE_KINDS = (StageKind.COLLECTION, StageKind.INJECTION)
FIRST_KINDS = (StageKind.EVALUATION, StageKind.COLLECTION)


WORKLIST_SHOW = ("all", "mine")


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


def _stage_page(conditions: list[sa.ColumnElement[bool]], order: sa.Label, limit: int):
    """The first `limit` open-journey stages meeting the conditions, in worklist order, with
    their journey, patient and cycle. The page's stage ids are picked first from the stage
    and journey rows alone (the open-stage index); only those rows are joined to patient and
    cycle (joining every candidate first read ~20,000 patient rows to keep 200)."""
    top = (
        sa.select(m.Stage.id, order)
        .join(m.Stage.journey)
        .where(m.Journey.status.in_(OPEN_JOURNEY), *conditions)
        .order_by(order, m.Stage.updated_at, m.Stage.id)
        .limit(limit)
        .subquery()
    )
    return (
        sa.select(m.Stage, top.c[order.name])
        .join(top, top.c.id == m.Stage.id)
        .join(m.Stage.journey)
        .join(m.Journey.patient)
        .outerjoin(m.Stage.cycle)
        .options(
            contains_eager(m.Stage.journey).contains_eager(m.Journey.patient),
            contains_eager(m.Stage.cycle),
        )
        .order_by(top.c[order.name], m.Stage.updated_at, m.Stage.id)
    )


def worklist_for(user: User, limit: int = 200, show: str = "all") -> Worklist:
    """Stages waiting on this user or their team: in progress, awaiting signature, up next.

    Patients on the user's care team come first; `show="mine"` lists only them.
    """

    # The care team is a subquery the database joins (a semi-join, a hashed subplan in the
    # ordering), not thousands of ids bound into every statement.
    on_team = m.Journey.patient_id.in_(team_patients(user))
    covering = sa.select(JourneyMember.journey_id).where(
        JourneyMember.user_id == user.id, JourneyMember.team_role == TeamRole.COVERING_PROVIDER
    )
    mine = sa.or_(m.Journey.provider_id == user.id, m.Journey.id.in_(covering))
    scope: sa.ColumnElement[bool] = (
        sa.true() if user.role is Role.PROVIDER else m.Stage.kind.in_(STAFF_KINDS)
    )
    if show == "mine":
        scope = sa.and_(scope, on_team)
    own_first = sa.case((on_team, 0), else_=1).label("own_first")
    team_ids: set[int] = set()

    def read(*conditions: sa.ColumnElement[bool]) -> list[m.Stage]:
        """The section's stages, noting whose patients are on the care team (own_first 0)."""
        stages = []
        for stage, own in db.session.execute(_stage_page(list(conditions), own_first, limit)):
            stages.append(stage)
            if own == 0:
                team_ids.add(stage.journey.patient_id)
        return stages

    in_progress = read(scope, m.Stage.status == StageStatus.IN_PROGRESS)
    to_sign = []
    if user.role is Role.PROVIDER:
        to_sign = read(mine, m.Stage.status == StageStatus.COMPLETED)
    # "Up next": pending stages whose predecessor in the cycle is done (or the evaluation).
    previous = sa.orm.aliased(m.Stage)
    previous_kind = sa.case(
        {"processing": "collection", "injection": "processing", "recovery": "injection"},
        value=sa.cast(m.Stage.kind, sa.String),
    )
    predecessor_done = sa.exists().where(
        previous.cycle_id == m.Stage.cycle_id,
        sa.cast(previous.kind, sa.String) == previous_kind,
        previous.status.in_([StageStatus.COMPLETED, StageStatus.SIGNED]),
    )
    ready = read(
        scope,
        m.Stage.status == StageStatus.PENDING,
        sa.or_(m.Stage.kind.in_([StageKind.EVALUATION, StageKind.COLLECTION]), predecessor_done),
    )
    start, end = clinic_day_bounds(clinic_today())
    today = read(
        scope,
        m.Stage.kind.in_(PROCEDURE_KINDS),
        m.Stage.started_at >= start,
        m.Stage.started_at < end,
        m.Stage.status != StageStatus.CANCELLED,
    )
    return Worklist(
        list(today),
        list(in_progress),
        list(to_sign),
        list(ready),
        mine=frozenset(team_ids),
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
