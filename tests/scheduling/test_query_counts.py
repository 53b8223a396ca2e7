"""Calendars, the board and the printable list cost the same number of SQL statements with
10 appointments as with 1,000 (no query per appointment)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.extensions import db as _db
from clinic.scheduling.models import Appointment, VisitKind
from tests.factories import PatientFactory, make_user
from tests.scheduling.conftest import MONDAY_10AM, QueryCounter
from tests.scheduling.factories import make_room

PAGES = [
    "/schedule/day?date=2030-03-04",
    "/schedule/day?date=2030-03-04&view=rooms",
    "/schedule/week?date=2030-03-04&provider={first}",
    "/schedule/week?date=2030-03-04&room={room}",
    "/schedule/week?date=2030-03-04",  # every clinician's week (the grid)
    "/schedule/board?date=2030-03-04",
    "/schedule/board/rows?date=2030-03-04",
    "/schedule/day/print?date=2030-03-04",
    "/schedule/clinicians/{first}/calendar.ics",
    "/patients/{patient}",
]


def _fill(total: int) -> dict:
    """`total` five-minute appointments: the first clinician holds half, ten others the rest."""
    providers = [make_user(Role.PROVIDER) for _ in range(11)]
    patients = [PatientFactory() for _ in range(11)]
    rooms = [make_room(f"Room {i}") for i in range(11)]
    rows = []
    half = total // 2
    for index in range(total):
        lane, slot = (0, index) if index < half else (1 + (index - half) % 10, (index - half) // 10)
        start = MONDAY_10AM + timedelta(minutes=5 * slot)
        rows.append(
            dict(
                patient_id=patients[lane].id,
                provider_id=providers[lane].id,
                room_id=rooms[lane].id,
                kind=VisitKind.FOLLOW_UP,
                starts_at=start,
                ends_at=start + timedelta(minutes=5),
            )
        )
    _db.session.execute(sa.insert(Appointment), rows)
    _db.session.flush()
    return {"first": providers[0].id, "room": rooms[0].id, "patient": patients[0].id}


def _count(client, url: str) -> int:
    with QueryCounter() as counter:
        response = client.get(url)
    assert response.status_code == 200, url
    return counter.count


@pytest.mark.parametrize("page", PAGES)
def test_query_count_does_not_grow_with_appointments(app, page):
    counts = []
    for total in (10, 1000):
        with app.app_context():
            counts.append(_run(app, total, page))
    assert counts[0] == counts[1], counts


def _run(app, total, page):
    """A fresh rolled-back transaction with `total` appointments; the page's query count."""
    from clinic.extensions import limiter
    from tests import factories
    from tests.conftest import CsrfClient

    engines = _db._app_engines[app]
    engine = engines[None]
    connection = engine.connect()
    outer = connection.begin()
    engines[None] = connection
    _db.session.remove()
    _db.session.configure(join_transaction_mode="create_savepoint")
    try:
        ids = _fill(total)
        desk = factories.make_user(Role.FRONT_DESK)
        _db.session.flush()
        limiter.reset()
        client = CsrfClient(app.test_client())
        response = client.post_form("/login", {"email": desk.email, "password": factories.PASSWORD})
        assert response.status_code == 302
        client.get(page.format(**ids))  # warm-up: caches, first-use queries
        return _count(client, page.format(**ids))
    finally:
        _db.session.remove()
        engines[None] = engine
        outer.rollback()
        connection.close()
