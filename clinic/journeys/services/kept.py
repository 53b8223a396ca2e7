"""The worklist's rows, kept per process between writes.

The worklist lists every open stage of the clinic, the user's care team first: working that
out reads every candidate stage (4,140 at 100,000 patients), every open journey and the care
team (3,700 patients for a busy provider) on each view, ~15-25 ms of database time that grows
with the clinic. Which rows the sections hold (their ids, order and flags) depends only on
stages, journeys, care-team assignments and appointments, so they are kept per process, per
user and filter, while none of those has been written since: their latest `updated_at` (and
the newest assignment's id; taking someone off a team touches the journey), four index
probes in one statement. The stages shown are still read afresh on every view.

A write committed by another process is seen on the next view. A transaction that wrote
earlier but commits after a later one cannot change the stamp; KEPT_SECONDS bounds how long
such a view can lag. A transaction that has itself written one of those tables neither reads
nor fills the kept rows (they must show its own uncommitted change, and must not outlive a
rollback), and neither does a POST (batch signing decides on what is stored now).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from itertools import chain
from typing import TypeVar

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from clinic.careteam.models import JourneyMember
from clinic.extensions import db
from clinic.journeys import models as m
from clinic.scheduling.models import Appointment

KEPT_SECONDS = 20
KEPT_MAX = 64  # users x filters (up to ~100 KB each); least recently used dropped first
WATCHED = (m.Stage, m.Journey, JourneyMember, Appointment)
_WATCHED_TABLES = frozenset(model.__tablename__ for model in WATCHED)
_WROTE = "worklist_inputs_written"

_STAMP = sa.select(
    sa.select(sa.func.max(m.Stage.updated_at)).scalar_subquery(),
    sa.select(sa.func.max(m.Journey.updated_at)).scalar_subquery(),
    sa.select(sa.func.max(Appointment.updated_at)).scalar_subquery(),
    sa.select(sa.func.max(JourneyMember.id)).scalar_subquery(),
)

T = TypeVar("T")
_kept: OrderedDict[tuple, tuple[tuple, float, object]] = OrderedDict()


def forget() -> None:
    """Drop every kept row (the test suite swaps the database under a running process)."""
    _kept.clear()


def rows(key: tuple, compute: Callable[[], T]) -> T:
    """`compute()`'s answer for `key`, kept until a watched table is written (above)."""
    session = db.session()
    if session.info.get(_WROTE) or (has_request_context() and request.method != "GET"):
        return compute()  # a write decides on what is stored now, never on kept rows
    stamp = tuple(session.execute(_STAMP).one())
    now = time.monotonic()
    found = _kept.get(key)
    if found is not None and found[0] == stamp and now - found[1] < KEPT_SECONDS:
        _kept.move_to_end(key)
        return found[2]  # type: ignore[return-value]
    answer = compute()
    _kept[key] = (stamp, now, answer)
    _kept.move_to_end(key)
    while len(_kept) > KEPT_MAX:
        _kept.popitem(last=False)
    return answer


@event.listens_for(Session, "after_flush")
def _note_writes(session: Session, _context) -> None:
    if session.info.get(_WROTE):
        return
    if any(isinstance(o, WATCHED) for o in chain(session.new, session.dirty, session.deleted)):
        session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _note_statements(state) -> None:
    """An UPDATE, DELETE or INSERT statement run through the session on a watched table.
    (Returns nothing: a value returned here would replace the statement's result.)"""
    if state.session.info.get(_WROTE) or not (
        state.is_update or state.is_delete or state.is_insert
    ):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in _WATCHED_TABLES:
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_transaction_end")
def _forget_writes(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE, None)
