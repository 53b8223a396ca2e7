"""Shared scheduling fixtures: a clinic with rooms and clinicians who work 9 to 5 every day."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from clinic.auth.models import Role
from clinic.scheduling.models import RoomKind
from tests.factories import PatientFactory
from tests.scheduling.factories import make_provider, make_room

# Monday 4 March 2030, 10:00 in New York (EST, UTC-5) is 15:00 UTC.
MONDAY_10AM = datetime(2030, 3, 4, 15, 0, tzinfo=UTC)


class Clinic:
    def __init__(self) -> None:
        self.provider = make_provider(full_name="Dr Ada Stone", starts=time(9), ends=time(17))
        self.other_provider = make_provider(full_name="Dr Ben Cole")
        self.nurse = make_provider(Role.CLINICAL_STAFF, full_name="Nurse Cara Lind")
        self.exam = make_room("Exam A", RoomKind.EXAM)
        self.exam2 = make_room("Exam B", RoomKind.EXAM)
        self.procedure = make_room("Procedure A", RoomKind.PROCEDURE)
        self.patient = PatientFactory(given_name="Nora", family_name="Quist")
        self.other_patient = PatientFactory()


@pytest.fixture
def clinic(db) -> Clinic:
    return Clinic()


class QueryCounter:
    """Counts SQL statements sent while active (every engine, every connection)."""

    def __init__(self) -> None:
        self.count = 0

    def _count(self, *args, **kwargs) -> None:
        self.count += 1

    def __enter__(self) -> QueryCounter:
        event.listen(Engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(Engine, "before_cursor_execute", self._count)


@pytest.fixture
def count_queries():
    return QueryCounter


def scalar(db, query: sa.Select):
    db.session.expire_all()
    return db.session.scalar(query)


def count_calls(monkeypatch, owner, name: str) -> list[int]:
    """`owner.name` still runs, and from now on each call appends to the list returned (for
    tests of what a page keeps: was the work done again?)."""
    calls: list[int] = []
    real = getattr(owner, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls
