"""Keeping the registry's stored rows (`registry_models`) equal to the records they summarise.

Every flush notes which treatment cycles its changes touch (an answer, a follow-up, a stage, a
processing or injection record or site, a journey or its target sites). Before the transaction
commits, and before the registry is read inside a transaction, those cycles' stored rows are
recomputed from the records with the same cohort query the export uses: the rows change in the
same transaction as the records, so they never disagree with what was committed.

Two transactions refreshing the same cycle take a per-cycle lock on PostgreSQL (in cycle order,
at commit, when nothing else is left to lock), so the later one recomputes after the earlier one
has committed and neither overwrites the other with an older picture. SQLite writes one
transaction at a time anyway.

Bulk writes that bypass the ORM (the benchmark's generator, Core updates) call `touch_cycles`
/ `touch_journeys` or `rebuild`; `flask registry rebuild` recomputes everything.

The dashboard stores its figures per set of filters (`registry.figures`), valid for one
registry generation. A commit that changed stored rows or an adverse event moves the generation
on, last thing before it commits (after the cycle locks, so no lock order can deadlock), in the
same transaction: a reader sees the new number only together with the new rows, and figures
stored under an older number are never read as current. Until its commit, a transaction that
changed them reads figures computed afresh (its own changes are not in the stored ones).
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from clinic.extensions import db
from clinic.journeys import models as m
from clinic.outcomes.adverse_models import AdverseEvent
from clinic.outcomes.cohort import Filters, cohort
from clinic.outcomes.models import BASELINE, QuestionnaireResponse, ResponseStatus
from clinic.outcomes.registry_models import (
    IN_WINDOW,
    OUT_OF_WINDOW,
    PAIRED,
    PGIC_RESPONDER,
    RESPONDER,
    WORSE,
    RegistryCycle,
    RegistryFigures,
    RegistryGeneration,
    RegistryPoint,
)
from clinic.outcomes.scoring import MCID_POINTS, NRS_PERCENT
from clinic.patients import merge as patient_merge

_DIRTY = "registry_dirty"
_CHANGED = "registry_changed"  # this transaction changed what the figures are computed from
LOCK_NAMESPACE = 7311  # pg_advisory_xact_lock(namespace, cycle id)
CHUNK = 500  # ids per statement (SQLite's bound-parameter limit is far above)


def _dirty(session: Session) -> dict[str, set[int]]:
    return session.info.setdefault(_DIRTY, {"cycles": set(), "journeys": set(), "stages": set()})


def touch_cycles(cycle_ids: Iterable[int | None], session: Session | None = None) -> None:
    """Recompute these cycles' registry rows before the transaction commits."""
    _dirty(session or db.session())["cycles"].update(i for i in cycle_ids if i is not None)


def touch_journeys(journey_ids: Iterable[int | None], session: Session | None = None) -> None:
    """Recompute the registry rows of every cycle of these journeys before the commit."""
    _dirty(session or db.session())["journeys"].update(i for i in journey_ids if i is not None)


def _journeys_moved(table: str, ids: list[int]) -> None:
    """A patient merge moved these journeys (a bulk update): their cycles' patient changed."""
    if table == "journey":
        touch_journeys(ids)


patient_merge.AFTER_MOVE.append(_journeys_moved)


def _values(obj, name: str) -> set[int]:
    """The attribute's current value and, when it changed in this flush, its previous one."""
    state = sa.inspect(obj)
    values = {getattr(obj, name, None)}
    if name in state.attrs:
        values.update(state.attrs[name].history.deleted or ())
    return {v for v in values if v is not None}


# what each kind of record says about which cycles' registry rows it feeds
_BY_CYCLE = (QuestionnaireResponse, m.FollowUp, m.Stage)
_BY_STAGE = (m.ProcessingRecord, m.InjectionRecord, m.InjectionSite)
_BY_JOURNEY = (m.TargetSite,)


# Columns every save moves on whatever else it changes; no stored row is computed from them.
_BOOKKEEPING = frozenset({"version", "updated_at"})


def _only_bookkeeping(obj) -> bool:
    """A flushed change of nothing but its version and time (a questionnaire saved as a draft
    with the same answers, a stage saved unchanged): no stored row can differ, so the cycle is
    not recomputed and the dashboard's stored figures stay current. A change of a relationship
    (a journey's conditions: rows of a link table, no column of its own) is a change."""
    state = sa.inspect(obj)
    return not any(
        state.attrs[attr.key].history.has_changes()
        for attr in (*state.mapper.column_attrs, *state.mapper.relationships)
        if attr.key not in _BOOKKEEPING
    )


@event.listens_for(Session, "after_flush")
def _note_changes(session: Session, _context) -> None:
    dirty = None
    changed = [obj for obj in session.dirty if not _only_bookkeeping(obj)]
    for obj in (*session.new, *changed, *session.deleted):
        if isinstance(obj, _BY_CYCLE):
            key, ids = "cycles", _values(obj, "cycle_id")
        elif isinstance(obj, m.Cycle):
            key, ids = "cycles", {obj.id}
        elif isinstance(obj, _BY_STAGE):
            key, ids = "stages", _values(obj, "stage_id")
        elif isinstance(obj, m.Journey):
            key, ids = "journeys", {obj.id}
        elif isinstance(obj, _BY_JOURNEY):
            key, ids = "journeys", _values(obj, "journey_id")
        elif isinstance(obj, AdverseEvent):  # the figures count them (by their cycle)
            session.info[_CHANGED] = True
            continue
        else:
            continue
        dirty = dirty or _dirty(session)
        dirty[key].update(ids)
    if any(isinstance(obj, (m.Cycle, QuestionnaireResponse)) for obj in session.deleted):
        session.info[_CHANGED] = True  # their stored rows went with them (ON DELETE CASCADE)


@event.listens_for(Session, "before_commit")
def _refresh_before_commit(session: Session) -> None:
    settle(session)


def settle(session: Session | None = None) -> None:
    """What a commit does first: store this transaction's changes (flushed now, as the commit
    would only flush them after this hook), recompute the touched cycles' rows under their locks,
    and move the generation on if anything the figures read changed."""
    session = session or db.session()
    session.flush()
    refresh_pending(session, lock=True)
    if session.info.pop(_CHANGED, False):
        bump_generation(session.connection())


def changed_in_transaction(session: Session | None = None) -> bool:
    """Whether this transaction has changed, and not yet committed, what the figures read."""
    return bool((session or db.session()).info.get(_CHANGED))


_BUMP = sa.update(RegistryGeneration).values(value=RegistryGeneration.value + 1)


def bump_generation(connection: sa.Connection) -> None:
    """Figures stored so far are out of date once this transaction commits (on PostgreSQL the
    row stays locked until then: the next writer's number follows this one's)."""
    connection.execute(_BUMP)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None and not previous_transaction.nested:
        session.info.pop(_DIRTY, None)
        session.info.pop(_CHANGED, None)


def refresh_pending(session: Session | None = None, *, lock: bool = False) -> None:
    """Recompute the rows of every cycle touched so far in this transaction."""
    session = session or db.session()
    if session.info.get(_DIRTY):
        session.flush()
    dirty = session.info.pop(_DIRTY, None)
    if not dirty or not any(dirty.values()):
        return
    connection = session.connection()
    cycles = set(dirty["cycles"])
    for chunk in _chunks(dirty["journeys"]):
        cycles.update(
            connection.scalars(sa.select(m.Cycle.id).where(m.Cycle.journey_id.in_(chunk)))
        )
    for chunk in _chunks(dirty["stages"]):
        cycles.update(
            connection.scalars(
                sa.select(m.Stage.cycle_id).where(
                    m.Stage.id.in_(chunk), m.Stage.cycle_id.is_not(None)
                )
            )
        )
    ids = sorted(cycles)
    if lock and connection.dialect.name == "postgresql":
        for cycle_id in ids:
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(LOCK_NAMESPACE, cycle_id)))
    changed = 0
    for chunk in _chunks(ids):
        changed += _refresh(connection, chunk)
    if changed:  # rows deleted or written (a cycle not injected has none either way)
        session.info[_CHANGED] = True


def rebuild(connection: sa.Connection | None = None) -> tuple[int, int]:
    """Recompute every stored registry row and move the generation on (stored figures from
    before are out of date, and deleted); returns (cycles, answers) stored."""
    connection = connection or db.session.connection()
    recompute_rows(connection)
    bump_generation(connection)
    current = sa.select(RegistryGeneration.value).scalar_subquery()
    connection.execute(sa.delete(RegistryFigures).where(RegistryFigures.generation < current))
    return (
        connection.scalar(sa.select(sa.func.count()).select_from(RegistryCycle)) or 0,
        connection.scalar(sa.select(sa.func.count()).select_from(RegistryPoint)) or 0,
    )


def recompute_rows(connection: sa.Connection) -> None:
    """Recompute every stored cycle and answer row (the stored rows' migration fills them so,
    before the generation's table exists)."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("LOCK TABLE registry_cycle, registry_point IN EXCLUSIVE MODE"))
    _refresh(connection, None)


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]


def _refresh(connection: sa.Connection, cycle_ids: list[int] | None) -> int:
    """Delete and recompute the stored rows of these cycles (all cycles when None); returns
    how many rows were deleted or written."""
    params = {} if cycle_ids is None else {"ids": cycle_ids}
    return sum(  # (an INSERT's row count is kept only when asked for: _statements)
        max(connection.execute(statement, params).rowcount, 0)
        for statement in _statements(every_cycle=cycle_ids is None)
    )


_STATEMENTS: dict[bool, tuple] = {}


def _statements(every_cycle: bool) -> tuple:
    """The refresh's four statements, built once (for a list of cycles bound as `ids`): every
    write that touches a cycle runs them, and building them costs more than running them."""
    if every_cycle not in _STATEMENTS:
        ids: sa.BindParameter[list[int]] | None = (
            None if every_cycle else sa.bindparam("ids", expanding=True)
        )
        points, cycles = sa.delete(RegistryPoint), sa.delete(RegistryCycle)
        if ids is not None:
            points = points.where(RegistryPoint.cycle_id.in_(ids))
            cycles = cycles.where(RegistryCycle.cycle_id.in_(ids))
        _STATEMENTS[every_cycle] = (
            points,
            cycles,
            sa.insert(RegistryCycle)
            .from_select(_CYCLE_COLUMNS, _cycle_rows(ids))
            .execution_options(preserve_rowcount=True),
            sa.insert(RegistryPoint)
            .from_select(_POINT_COLUMNS, _point_rows(ids))
            .execution_options(preserve_rowcount=True),
        )
    return _STATEMENTS[every_cycle]


_CYCLE_COLUMNS = [
    "cycle_id", "journey_id", "patient_id", "therapy", "provider_id", "injected_at", "paw_class",
    "dose_band", "cervical", "surgery",
]  # fmt: skip


def _cycle_rows(cycle_ids) -> sa.Select:
    c = cohort(Filters(), product=True, cycle_ids=cycle_ids)
    cervical = sa.exists().where(
        m.TargetSite.journey_id == c.c.journey_id, m.TargetSite.level.like("C%")
    )
    surgery = sa.exists().where(
        m.FollowUp.cycle_id == c.c.cycle_id, m.FollowUp.later_procedure == "surgery"
    )
    return sa.select(
        c.c.cycle_id,
        c.c.journey_id,
        c.c.patient_id,
        c.c.therapy,
        c.c.provider_id,
        c.c.injected_at,
        c.c.paw_class,
        c.c.dose_band,
        sa.case((cervical, sa.true()), else_=sa.false()),
        sa.case((surgery, sa.true()), else_=sa.false()),
    )


_POINT_COLUMNS = [
    "response_id", "cycle_id", "patient_id", "instrument_code", "label", "follow_up_id",
    "available_from", "kind", "change",
]  # fmt: skip


def important(code, base, change) -> sa.ColumnElement[bool]:
    """SQL for 'reached the clinically important improvement' (mirrors scoring.change)."""
    nrs = sa.and_(
        change > 0,
        sa.or_(change >= MCID_POINTS["single"], change * 100 >= NRS_PERCENT * base),
    )
    return sa.case(
        *((code == name, change >= MCID_POINTS[name]) for name in ("odi", "ndi")), else_=nrs
    )


def _flag(cond) -> sa.Case:
    return sa.case((cond, 1), else_=0)


def _point_rows(cycle_ids) -> sa.Select:
    """Each answer with its cycle's baseline score (read once per answer), then what it is."""
    r = sa.orm.aliased(QuestionnaireResponse, name="r")
    b = sa.orm.aliased(QuestionnaireResponse, name="b")
    rc = RegistryCycle.__table__
    baseline = (
        sa.select(b.score)
        .where(
            b.cycle_id == r.cycle_id,
            b.timepoint == BASELINE,
            b.instrument_code == r.instrument_code,
            b.status == ResponseStatus.COMPLETED,
            b.in_window.is_(True),
        )
        .order_by(b.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    answers = (
        sa.select(
            r.id.label("response_id"),
            r.cycle_id.label("cycle_id"),
            rc.c.patient_id.label("patient_id"),
            r.instrument_code.label("code"),
            m.FollowUp.label.label("label"),
            m.FollowUp.id.label("follow_up_id"),
            r.available_from.label("available_from"),
            sa.case((r.status == ResponseStatus.COMPLETED, 1), else_=0).label("done"),
            r.in_window.label("in_window"),
            r.score.label("score"),
            baseline.label("base"),
        )
        .join(m.FollowUp, m.FollowUp.id == r.follow_up_id)
        .join(rc, rc.c.cycle_id == r.cycle_id)
        .where(r.status != ResponseStatus.VOIDED, m.FollowUp.status != "cancelled")
    )
    if cycle_ids is not None:
        answers = answers.where(r.cycle_id.in_(cycle_ids))
    a = answers.subquery("a")
    in_window = sa.and_(a.c.done == 1, a.c.in_window.is_(True))
    paired = sa.and_(in_window, a.c.base.is_not(None))
    change = a.c.base - a.c.score
    kind = sum(
        (_flag(cond) * bit for bit, cond in (
            (IN_WINDOW, in_window),
            (OUT_OF_WINDOW, sa.and_(a.c.done == 1, a.c.in_window.is_(False))),
            (PAIRED, paired),
            (RESPONDER, sa.and_(paired, important(a.c.code, a.c.base, change))),
            (WORSE, sa.and_(paired, change < 0)),
            (PGIC_RESPONDER, sa.and_(in_window, a.c.code == "pgic", a.c.score <= 2)),
        )),
        sa.literal(0),
    )  # fmt: skip
    return sa.select(
        a.c.response_id,
        a.c.cycle_id,
        a.c.patient_id,
        a.c.code,
        a.c.label,
        a.c.follow_up_id,
        a.c.available_from,
        kind,
        sa.case((paired, change)),
    )
