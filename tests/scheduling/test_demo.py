"""Demo data: rooms, working hours and two weeks of bookings around today."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from clinic.demo import load_demo_data
from clinic.extensions import db as _db
from clinic.scheduling.models import Appointment, Room, Status, WorkingHours
from clinic.timeutil import clinic_day_bounds, clinic_today
from tests.conftest import savepoint_db


@pytest.fixture(scope="module")
def demo(app, module_connection) -> None:
    """The demo data, loaded once per database for this module's read-only checks."""
    with app.app_context():
        load_demo_data()
        _db.session.commit()  # releases the session's savepoint; the module transaction stays
        _db.session.remove()


@pytest.fixture
def db(app, module_connection, demo):
    with savepoint_db(app, module_connection) as database:
        yield database


def test_demo_books_two_weeks_for_several_clinicians_and_rooms(db):
    today = clinic_today()
    start = clinic_day_bounds(today - timedelta(days=7))[0]
    end = clinic_day_bounds(today + timedelta(days=7))[1]
    appointments = db.session.scalars(
        sa.select(Appointment).where(Appointment.starts_at >= start, Appointment.starts_at < end)
    ).all()
    assert len(appointments) > 50
    assert len({a.provider_id for a in appointments}) >= 3
    assert len({a.room_id for a in appointments if a.room_id}) >= 3
    assert any(a.starts_at < clinic_day_bounds(today)[0] for a in appointments)
    assert any(a.starts_at >= clinic_day_bounds(today)[1] for a in appointments)
    statuses = {a.status for a in appointments}
    assert {Status.BOOKED, Status.COMPLETED, Status.CANCELLED} <= statuses
    assert db.session.scalar(sa.select(sa.func.count(Room.id))) == 4
    assert db.session.scalar(sa.select(sa.func.count(WorkingHours.id))) >= 15


def test_demo_has_follow_ups_to_recall_and_one_booked_from_the_list(db):
    from clinic.models.base import utcnow
    from clinic.scheduling.recalls import recall_page

    rows, total = recall_page(clinic_today(), now=utcnow())
    states = {r.state for r in rows}
    assert total >= 4 and "overdue" in states and states & {"open", "closing"}
    assert all(r.slot is not None for r in rows if r.state != "overdue")
    linked = db.session.scalars(
        sa.select(Appointment).where(Appointment.follow_up_id.is_not(None))
    ).all()
    assert len(linked) == 1 and linked[0].notes == "Booked from the recall list"


def test_demo_board_shows_a_patient_in_procedure_from_their_journey(db):
    from clinic.scheduling.board import locations
    from clinic.scheduling.queries import appointments_on

    linked = db.session.scalars(
        sa.select(Appointment).where(
            Appointment.stage_id.is_not(None), Appointment.status == Status.IN_PROGRESS
        )
    ).all()
    if not linked:  # the demo was loaded in the first minutes after midnight
        return
    where = locations(appointments_on(clinic_today()), clinic_today())
    assert where[linked[0].id] == "In procedure"
