"""Operations figures by provider and month: no-shows, evaluation to injection, collection to
injection, follow-up completion and overdue visits.

Each figure is a sum and a count from one SQL aggregate per source (appointments, injected
cycles, follow-ups), grouped by provider and month, plus one query for the providers' names:
four queries whatever the data size. The clinic's monthly totals are added up in Python from
the same sums (means are sums over counts, so they add up exactly). Months are calendar months
of the clinic's time zone on PostgreSQL and of UTC on SQLite (a clinic's working day never
crosses midnight UTC in the zones it runs in, so only the development database is approximate).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app

from clinic.auth.models import User
from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.states import FollowUpStatus, StageKind, StageStatus
from clinic.outcomes import stats
from clinic.scheduling.models import Appointment, Status
from clinic.timeutil import clinic_today, clinic_tz

DONE = [StageStatus.COMPLETED, StageStatus.SIGNED]
SEEN_OR_NOT = [Status.CHECKED_IN, Status.IN_PROGRESS, Status.COMPLETED, Status.NO_SHOW]


@dataclass
class Sums:
    """What one provider (or the clinic) did in one month; figures are worked out from it."""

    visits: int = 0  # appointments that happened or were missed (cancellations not counted)
    no_shows: int = 0
    evaluations: int = 0  # first cycles injected, with their evaluation day known
    evaluation_days: float = 0.0
    collections: int = 0  # injected cycles with their collection time known
    collection_minutes: float = 0.0
    follow_ups_closed: int = 0  # follow-ups whose window has closed
    follow_ups_done: int = 0
    follow_ups_missed: int = 0
    follow_ups_overdue: int = 0  # window closed, neither recorded nor marked missed

    def add(self, other: Sums) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class Figure:
    """One shown figure: its value, or suppressed when fewer than the minimum stand behind it."""

    value: float | None
    count: int
    suppressed: bool


@dataclass
class OpsRow:
    month: str
    provider_id: int | None  # None: the whole clinic
    provider: str
    sums: Sums = field(default_factory=Sums)

    def figures(self, min_cell: int) -> dict[str, Figure]:
        s = self.sums

        def figure(value: float | None, count: int) -> Figure:
            return Figure(value, count, stats.suppressed(count, min_cell))

        mean = lambda total, n: total / n if n else None  # noqa: E731
        return {
            "no_show": figure(stats.share(s.no_shows, s.visits), s.visits),
            "evaluation_days": figure(mean(s.evaluation_days, s.evaluations), s.evaluations),
            "collection_minutes": figure(mean(s.collection_minutes, s.collections), s.collections),
            "follow_up_done": figure(
                stats.share(s.follow_ups_done, s.follow_ups_closed), s.follow_ups_closed
            ),
            "overdue": figure(float(s.follow_ups_overdue), s.follow_ups_closed),
        }


@dataclass
class Operations:
    start: date
    end: date
    min_cell: int
    rows: list[OpsRow]  # provider rows, newest month first
    clinic: list[OpsRow]  # the clinic's total per month, oldest first


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _month(column, *, timestamp: bool) -> sa.ColumnElement:
    """'YYYY-MM' of a date, or of a timestamp in the clinic's zone (UTC on SQLite)."""
    if _dialect() == "postgresql":
        if timestamp:
            column = sa.func.timezone(str(clinic_tz()), column)
        return sa.func.to_char(column, "YYYY-MM")
    return sa.func.strftime("%Y-%m", column)


def _seconds(start, end) -> sa.ColumnElement:
    """Seconds from one timestamp to another."""
    if _dialect() == "postgresql":
        return sa.extract("epoch", end - start)
    return (sa.func.julianday(end) - sa.func.julianday(start)) * 86400


def _moment(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=clinic_tz())


def _appointments(start: date, end: date, provider_id: int | None) -> sa.Select:
    month = _month(Appointment.starts_at, timestamp=True)
    query = (
        sa.select(
            Appointment.provider_id,
            month.label("month"),
            sa.func.count(Appointment.id),
            sa.func.sum(sa.case((Appointment.status == Status.NO_SHOW, 1), else_=0)),
        )
        .where(
            Appointment.starts_at >= _moment(start),
            Appointment.starts_at < _moment(end + timedelta(days=1)),
            Appointment.status.in_(SEEN_OR_NOT),
        )
        .group_by(Appointment.provider_id, month)
    )
    if provider_id:
        query = query.where(Appointment.provider_id == provider_id)
    return query


def _cycles(start: date, end: date, provider_id: int | None) -> sa.Select:
    inj = sa.orm.aliased(m.Stage, name="inj")
    ev = sa.orm.aliased(m.Stage, name="ev")
    col = sa.orm.aliased(m.Stage, name="col")
    injected_at = sa.func.coalesce(m.InjectionRecord.procedure_started_at, inj.completed_at)
    month = _month(injected_at, timestamp=True)
    first = sa.and_(m.Cycle.number == 1, ev.completed_at.is_not(None))
    collected = m.CollectionRecord.collected_at.is_not(None)
    query = (
        sa.select(
            m.Journey.provider_id,
            month.label("month"),
            sa.func.sum(sa.case((first, 1), else_=0)),
            sa.func.sum(sa.case((first, _seconds(ev.completed_at, injected_at)))),
            sa.func.sum(sa.case((collected, 1), else_=0)),
            sa.func.sum(
                sa.case((collected, _seconds(m.CollectionRecord.collected_at, injected_at)))
            ),
        )
        .select_from(inj)
        .join(m.InjectionRecord, m.InjectionRecord.stage_id == inj.id)
        .join(m.Cycle, m.Cycle.id == inj.cycle_id)
        .join(m.Journey, m.Journey.id == m.Cycle.journey_id)
        .outerjoin(
            ev,
            sa.and_(
                ev.journey_id == m.Journey.id,
                ev.kind == StageKind.EVALUATION,
                ev.status.in_(DONE),
            ),
        )
        .outerjoin(
            col,
            sa.and_(
                col.cycle_id == m.Cycle.id,
                col.kind == StageKind.COLLECTION,
                col.status.in_(DONE),
            ),
        )
        .outerjoin(m.CollectionRecord, m.CollectionRecord.stage_id == col.id)
        .where(
            inj.kind == StageKind.INJECTION,
            inj.status.in_(DONE),
            injected_at >= _moment(start),
            injected_at < _moment(end + timedelta(days=1)),
        )
        .group_by(m.Journey.provider_id, month)
    )
    if provider_id:
        query = query.where(m.Journey.provider_id == provider_id)
    return query


def _follow_ups(start: date, end: date, provider_id: int | None, today: date) -> sa.Select:
    f = m.FollowUp
    month = _month(f.due_on, timestamp=False)
    closed = f.window_closes_on < today
    count_if = lambda cond: sa.func.sum(sa.case((cond, 1), else_=0))  # noqa: E731
    query = (
        sa.select(
            m.Journey.provider_id,
            month.label("month"),
            count_if(sa.and_(closed, f.status != FollowUpStatus.CANCELLED)),
            count_if(sa.and_(closed, f.status == FollowUpStatus.DONE)),
            count_if(sa.and_(closed, f.status == FollowUpStatus.MISSED)),
            count_if(sa.and_(closed, f.status == FollowUpStatus.SCHEDULED)),
        )
        .join(m.Journey, m.Journey.id == f.journey_id)
        .where(f.due_on >= start, f.due_on <= end)
        .group_by(m.Journey.provider_id, month)
    )
    if provider_id:
        query = query.where(m.Journey.provider_id == provider_id)
    return query


def operations(
    start: date, end: date, provider_id: int | None = None, today: date | None = None
) -> Operations:
    """The operations figures from `start` to `end` (both included), by provider and month."""
    today = today or clinic_today()
    sums: dict[tuple[int, str], Sums] = defaultdict(Sums)
    for pid, month, visits, no_shows in db.session.execute(_appointments(start, end, provider_id)):
        s = sums[(pid, month)]
        s.visits, s.no_shows = int(visits), int(no_shows or 0)
    for pid, month, evals, eval_s, cols, col_s in db.session.execute(
        _cycles(start, end, provider_id)
    ):
        s = sums[(pid, month)]
        s.evaluations, s.evaluation_days = int(evals or 0), float(eval_s or 0) / 86400
        s.collections, s.collection_minutes = int(cols or 0), float(col_s or 0) / 60
    for pid, month, closed, done, missed, overdue in db.session.execute(
        _follow_ups(start, end, provider_id, today)
    ):
        s = sums[(pid, month)]
        s.follow_ups_closed, s.follow_ups_done = int(closed or 0), int(done or 0)
        s.follow_ups_missed, s.follow_ups_overdue = int(missed or 0), int(overdue or 0)
    ids = {pid for pid, _month in sums if pid is not None}
    names = dict(
        db.session.execute(sa.select(User.id, User.full_name).where(User.id.in_(ids)))
        .tuples()
        .all()
    )
    rows = [
        OpsRow(month, pid, names.get(pid, "No provider"), s) for (pid, month), s in sums.items()
    ]
    rows.sort(key=lambda r: r.provider)
    rows.sort(key=lambda r: r.month, reverse=True)
    clinic: dict[str, OpsRow] = {}
    for row in rows:
        clinic.setdefault(row.month, OpsRow(row.month, None, "Whole clinic")).sums.add(row.sums)
    min_cell = int(current_app.config.get("REGISTRY_MIN_CELL", 5))
    return Operations(start, end, min_cell, rows, sorted(clinic.values(), key=lambda r: r.month))
