"""Calendars, the day board, the printable list, the iCalendar file and resource admin."""

from __future__ import annotations

import re
import time as clock
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from icalendar import Calendar

from clinic.auth.models import Role
from clinic.models.audit import AuditEvent
from clinic.scheduling.models import Room, Status, VisitKind, WorkingHours
from clinic.timeutil import clinic_today
from tests.scheduling.conftest import MONDAY_10AM
from tests.scheduling.factories import make_appointment


def _today_at(hour: int) -> datetime:
    from clinic.timeutil import clinic_tz

    local = datetime.combine(clinic_today(), datetime.min.time(), clinic_tz()).replace(hour=hour)
    return local.astimezone(UTC)


def test_day_view_has_a_column_per_clinician_and_bookable_empty_slots(client, login, clinic):
    login(Role.FRONT_DESK)
    make_appointment(
        provider=clinic.provider,
        patient=clinic.patient,
        room=clinic.exam,
        starts_at=MONDAY_10AM,
        kind=VisitKind.EVALUATION,
    )
    html = client.get("/schedule/day?date=2030-03-04").get_data(as_text=True)
    for name in ("Dr Ada Stone", "Dr Ben Cole", "Nurse Cara Lind"):
        assert f'<th scope="col">{name}</th>' in html
    assert "Quist, Nora" in html and "Evaluation" in html and "Booked" in html
    assert 'rowspan="4"' in html  # 60 minutes over quarter-hour rows
    assert (
        f"/schedule/book?date=2030-03-04&amp;time=11:00&amp;provider={clinic.provider.id}" in html
    )


def test_room_view_and_day_navigation(client, login, clinic):
    login(Role.FRONT_DESK)
    make_appointment(
        provider=clinic.provider,
        patient=clinic.patient,
        room=clinic.procedure,
        starts_at=MONDAY_10AM,
        kind=VisitKind.PROCEDURE,
    )
    html = client.get("/schedule/day?date=2030-03-04&view=rooms").get_data(as_text=True)
    assert '<th scope="col">Procedure A</th>' in html and 'rowspan="8"' in html
    assert "date=2030-03-03" in html and "date=2030-03-05" in html
    assert client.get("/schedule/day?view=attic").status_code == 400
    assert client.get("/schedule/day?date=yesterday").status_code == 400


def test_week_view_lists_a_clinicians_week_and_moves_by_week(client, login, clinic):
    login(Role.PROVIDER)
    make_appointment(
        provider=clinic.provider, patient=clinic.patient, starts_at=MONDAY_10AM + timedelta(days=2)
    )
    html = client.get(f"/schedule/week?date=2030-03-06&provider={clinic.provider.id}").get_data(
        as_text=True
    )
    assert "Week of 4 Mar 2030: Dr Ada Stone" in html
    assert "Wednesday 6 Mar" in html and "Quist, Nora" in html
    assert "date=2030-02-25" in html and "date=2030-03-11" in html
    room_week = client.get(f"/schedule/week?date=2030-03-06&room={clinic.exam.id}")
    assert room_week.status_code == 200


def test_day_board_lists_today_in_time_order_with_actions(client, login, clinic):
    login(Role.FRONT_DESK)
    late = make_appointment(
        provider=clinic.provider, patient=clinic.patient, starts_at=_today_at(15)
    )
    early = make_appointment(
        provider=clinic.other_provider, starts_at=_today_at(9), status=Status.CHECKED_IN
    )
    html = client.get("/schedule/board").get_data(as_text=True)
    assert html.index(early.patient.display_name) < html.index("Quist, Nora")
    assert "Arrived, waiting" in html and "Booked, not arrived" in html
    assert f"Check in: {late.patient.full_name}" in html
    assert 'data-refresh-url="/schedule/board/rows' in html and "js/board.js" in html


def test_board_rows_refresh_does_not_keep_a_session_alive(client, login, clinic):
    login(Role.FRONT_DESK)
    make_appointment(provider=clinic.provider, patient=clinic.patient, starts_at=_today_at(11))
    with client.session_transaction() as session:
        session["seen_at"] = int(clock.time()) - 60
        before = session["seen_at"]
    rows = client.get("/schedule/board/rows")
    assert rows.status_code == 200 and "Quist, Nora" in rows.get_data(as_text=True)
    assert "<html" not in rows.get_data(as_text=True)
    with client.session_transaction() as session:
        assert session["seen_at"] == before


def test_printable_day_list(client, login, clinic, db):
    login(Role.FRONT_DESK)
    make_appointment(provider=clinic.provider, patient=clinic.patient, starts_at=MONDAY_10AM)
    make_appointment(
        provider=clinic.provider,
        starts_at=MONDAY_10AM + timedelta(hours=2),
        status=Status.CANCELLED,
    )
    html = client.get(
        f"/schedule/day/print?date=2030-03-04&provider={clinic.provider.id}"
    ).get_data(as_text=True)
    assert "Dr Ada Stone" in html and "Quist, Nora" in html and "1 appointments" not in html[:0]
    assert html.count("<tr>") == 2  # header and the one live appointment
    assert "data-print" in html and "navbar" not in html
    assert (
        db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "schedule.printed")
        )
        == 1
    )


def test_icalendar_file_of_a_clinician(client, login, clinic, db):
    login(Role.FRONT_DESK)
    appt = make_appointment(
        provider=clinic.provider, patient=clinic.patient, room=clinic.exam, starts_at=_today_at(10)
    )
    response = client.get(f"/schedule/clinicians/{clinic.provider.id}/calendar.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert "attachment" in response.headers["Content-Disposition"]
    events = [c for c in Calendar.from_ical(response.data).walk("VEVENT")]
    assert len(events) == 1
    event = events[0]
    assert event.decoded("dtstart") == appt.starts_at
    assert event.decoded("dtend") == appt.ends_at
    assert "Quist, Nora" in str(event["summary"]) and str(event["location"]) == "Exam A"


def test_a_clinician_exports_only_their_own_calendar(client, login, clinic):
    me = login(Role.PROVIDER)
    assert client.get(f"/schedule/clinicians/{me.id}/calendar.ics").status_code == 200
    assert client.get(f"/schedule/clinicians/{clinic.provider.id}/calendar.ics").status_code == 403


def test_admin_adds_and_retires_rooms(client, login, clinic, db):
    login(Role.ADMIN)
    made = client.post_form(
        "/schedule/rooms/new", {"name": "Ultrasound 2", "kind": "ultrasound", "active": "y"}
    )
    assert made.status_code == 302
    room = db.session.scalar(sa.select(Room).where(Room.name == "Ultrasound 2"))
    same = client.post_form("/schedule/rooms/new", {"name": "exam a", "kind": "exam"})
    assert same.status_code == 422 and "already has this name" in same.get_data(as_text=True)
    page = f"/schedule/rooms/{room.id}/edit"
    retired = client.post_form(
        page, {"name": "Ultrasound 2", "kind": "ultrasound", "version": str(room.version)}
    )
    assert retired.status_code == 302
    db.session.expire_all()
    assert not db.session.get(Room, room.id).active
    stale = client.post_form(page, {"name": "Renamed", "kind": "ultrasound", "version": "1"})
    assert stale.status_code == 409 and 'value="Renamed"' in stale.get_data(as_text=True)


def _hours_version(client, page: str) -> str:
    html = client.get(page).get_data(as_text=True)
    return re.search(r'name="version" type="hidden" value="([^"]*)"', html).group(1)


def test_a_stale_hours_form_is_refused_and_keeps_the_input(client, login, clinic, db):
    login(Role.ADMIN)
    page = f"/schedule/hours/{clinic.nurse.id}"
    opened = _hours_version(client, page)
    first = {"start_4": "07:00", "end_4": "11:00", "version": opened}
    assert client.post_form(page, first).status_code == 302
    stale = client.post_form(page, {"start_4": "12:00", "end_4": "16:00", "version": opened})
    html = stale.get_data(as_text=True)
    assert stale.status_code == 409 and "Someone else saved these working hours" in html
    assert "<td>Friday</td><td>07:00–11:00</td>" in html and 'value="12:00"' in html
    row = db.session.scalar(
        sa.select(WorkingHours).where(
            WorkingHours.clinician_id == clinic.nurse.id, WorkingHours.weekday == 4
        )
    )
    db.session.refresh(row)
    assert row.starts.strftime("%H:%M") == "07:00"


def test_admin_sets_working_hours_per_weekday(client, login, clinic, db):
    login(Role.ADMIN)
    page = f"/schedule/hours/{clinic.nurse.id}"
    form = {"start_0": "08:00", "end_0": "12:30", "start_2": "13:00", "end_2": "17:00"}
    opened = _hours_version(client, page)
    assert client.post_form(page, {**form, "version": opened}).status_code == 302
    rows = db.session.scalars(
        sa.select(WorkingHours)
        .where(WorkingHours.clinician_id == clinic.nurse.id)
        .order_by(WorkingHours.weekday)
    ).all()
    assert [(r.weekday, r.starts.strftime("%H:%M"), r.ends.strftime("%H:%M")) for r in rows] == [
        (0, "08:00", "12:30"),
        (2, "13:00", "17:00"),
    ]
    bad = client.post_form(
        page,
        {
            "start_1": "17:00",
            "end_1": "09:00",
            "start_3": "09:00",
            "version": _hours_version(client, page),
        },
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert 'id="end_3-error"' in html and "Give both times" in html
    overview = client.get("/schedule/hours").get_data(as_text=True)
    assert "08:00–12:30" in overview


def test_room_view_hours_ignore_visits_without_a_room(client, login, clinic):
    login(Role.FRONT_DESK)
    late_call = MONDAY_10AM + timedelta(hours=11)  # 21:00, a phone check takes no room
    make_appointment(provider=clinic.nurse, starts_at=late_call, kind=VisitKind.PHONE_CHECK)
    rooms = client.get("/schedule/day?date=2030-03-04&view=rooms").get_data(as_text=True)
    people = client.get("/schedule/day?date=2030-03-04").get_data(as_text=True)
    assert ">21:00<" not in rooms and ">21:00<" in people
