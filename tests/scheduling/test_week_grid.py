"""The front desk's calendars: the every-clinician week grid (hours, free time, weekends only
when worked), moving a visit by form or drag with booking's clash checks and hours warning,
moved visits shown as moved, and the day board's words and links."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.models.audit import AuditEvent, audit_event_patient
from clinic.scheduling import services
from clinic.scheduling.models import Appointment, Status, VisitKind, WorkingHours
from clinic.scheduling.week_grid import Free, Visit, build_week
from clinic.timeutil import clinic_day_bounds, clinic_today
from tests.scheduling.conftest import MONDAY_10AM, count_calls
from tests.scheduling.factories import make_provider

MONDAY = date(2030, 3, 4)


def _book(clinic, *, starts_at=MONDAY_10AM, provider=None, patient=None, kind=VisitKind.FOLLOW_UP):
    return services.book(
        patient=patient or clinic.patient,
        provider=provider or clinic.provider,
        room=clinic.exam if kind is not VisitKind.PHONE_CHECK else None,
        kind=kind,
        starts_at=starts_at,
        ends_at=starts_at + kind.default_length,
        by=None,
    )


def _move(client, appt, **changes):
    form = {
        "provider": str(appt.provider_id),
        "day": "2030-03-04",
        "start": "10:00",
        "version": str(appt.version),
        "next": "/schedule/week?date=2030-03-04",
    }
    form.update(changes)
    return client.post_form(
        f"/schedule/appointments/{appt.id}/move", form, token_from="/schedule/week"
    )


def test_weekends_show_only_when_someone_works_and_free_time_is_between_visits(db):
    weekday_only = make_provider(
        full_name="Dr Weekday", weekdays=range(5), starts=time(9), ends=time(12)
    )
    hours = {weekday_only.id: {h.weekday: h for h in _hours(db, weekday_only)}}
    days = build_week(MONDAY, [weekday_only], hours, [])
    assert [d.day.weekday() for d in days] == [0, 1, 2, 3, 4]
    monday = days[0].lanes[0]
    assert [type(i) for i in monday.items] == [Free] and monday.free_minutes == 180
    saturday = make_provider(full_name="Dr Saturday", weekdays=[5])
    hours[saturday.id] = {h.weekday: h for h in _hours(db, saturday)}
    days = build_week(MONDAY, [weekday_only, saturday], hours, [])
    assert [d.day.weekday() for d in days] == [0, 1, 2, 3, 4, 5]
    assert [lane.clinician for lane in days[5].lanes] == [saturday]


def _hours(db, clinician):
    from clinic.scheduling.models import WorkingHours

    return db.session.scalars(
        sa.select(WorkingHours).where(WorkingHours.clinician_id == clinician.id)
    )


def test_a_lane_shows_visits_free_gaps_and_visits_outside_hours(clinic, db):
    visit = _book(clinic)  # 10:00-10:30 follow-up
    late = _book(clinic, starts_at=MONDAY_10AM + timedelta(hours=8))  # 18:00, after hours
    hours = {clinic.provider.id: {h.weekday: h for h in _hours(db, clinic.provider)}}
    days = build_week(MONDAY, [clinic.provider], hours, [visit, late])
    items = days[0].lanes[0].items
    kinds = [(type(i).__name__, getattr(i, "outside_hours", None)) for i in items]
    assert kinds == [("Free", None), ("Visit", False), ("Free", None), ("Visit", True)]
    assert items[0].minutes == 60 and isinstance(items[1], Visit)


def test_the_week_grid_page_shows_every_clinician_and_a_move_form(client, login, clinic, db):
    login(Role.FRONT_DESK)
    visit = _book(clinic)
    html = client.get("/schedule/week?date=2030-03-06").get_data(as_text=True)
    assert "every clinician" in html and "Dr Ada Stone" in html and "Nurse Cara Lind" in html
    assert "works 09:00–17:00" in html and "Free 09:00–10:00" in html
    assert 'data-move-visit="' in html and 'id="move-' in html
    # one move form for the page; each visit's "Move" is a link to its reschedule page
    assert html.count('id="move-form"') == 1 and html.count('name="version"') == 1
    assert f'href="/schedule/appointments/{visit.id}/reschedule" data-move-open' in html
    assert 'src="/static/js/week.js?v=' in html and "<script>" not in html
    # one clinician's week is still there
    single = client.get(f"/schedule/week?date=2030-03-06&provider={clinic.provider.id}")
    assert single.status_code == 200 and "every clinician" not in single.get_data(as_text=True)


def test_clinicians_see_the_grid_without_move_controls(client, login, clinic, db):
    login(Role.PROVIDER)
    _book(clinic)
    html = client.get("/schedule/week?date=2030-03-04").get_data(as_text=True)
    assert "Dr Ada Stone" in html and 'id="move-' not in html and "week.js" not in html


def test_moving_a_visit_keeps_it_and_shows_it_as_moved(client, login, clinic, db):
    login(Role.FRONT_DESK)
    original = _book(clinic)
    response = _move(client, original, provider=str(clinic.other_provider.id), start="11:00")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/schedule/week?date=2030-03-04"
    )
    new = db.session.scalar(
        sa.select(Appointment).where(Appointment.rescheduled_from_id == original.id)
    )
    assert new.provider_id == clinic.other_provider.id and new.room_id == clinic.exam.id
    assert new.starts_at == MONDAY_10AM + timedelta(hours=1)
    assert new.ends_at - new.starts_at == original.ends_at - original.starts_at
    page = client.get(f"/patients/{clinic.patient.id}").get_data(as_text=True)
    assert (
        "Moved" in page and ">Cancelled<" not in page and f"/schedule/appointments/{new.id}" in page
    )


def test_a_move_outside_working_hours_warns_like_a_booking(client, login, clinic, db):
    login(Role.FRONT_DESK)
    original = _book(clinic)
    moved = _move(client, original, start="18:00")
    assert moved.status_code == 302
    page = client.get(moved.headers["Location"]).get_data(as_text=True)
    assert "outside Dr Ada Stone&#39;s working hours" in page and "Moved: Nora Quist" in page


def _reschedule_form(clinic, original, start: str) -> tuple[str, dict]:
    """The reschedule page's address and its fields as sent, moving the visit to `start`."""
    return f"/schedule/appointments/{original.id}/reschedule", {
        "patient_mrn": clinic.patient.mrn,
        "kind": "follow_up",
        "provider": str(clinic.provider.id),
        "room": str(clinic.exam.id),
        "day": "2030-03-04",
        "start": start,
        "minutes": "",
        "notes": "",
        "version": str(original.version),
    }


def test_the_reschedule_form_warns_outside_working_hours_too(client, login, clinic, db):
    login(Role.FRONT_DESK)
    original = _book(clinic)
    page, form = _reschedule_form(clinic, original, start="18:00")
    moved = client.post_form(page, form)
    assert moved.status_code == 302
    assert "outside Dr Ada Stone" in client.get(moved.headers["Location"]).get_data(as_text=True)


def test_a_reschedule_from_a_stale_page_is_a_conflict_that_saves_after_checking(
    client, login, clinic, db
):
    """A colleague moved the visit while the form was open: 409, the entry kept, the visit as
    it is now beside it and the form carrying its version now, so saving again works."""
    login(Role.FRONT_DESK)
    original = _book(clinic)
    page, form = _reschedule_form(clinic, original, start="14:00")
    form["notes"] = "Moved at the patient's request"
    form["version"] = str(original.version - 1)
    stale = client.post_form(page, form)
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "changed while you were editing it" in html
    assert 'value="Moved at the patient&#39;s request"' in html or "Moved at the patient" in html
    assert f'name="version" type="hidden" value="{original.version}"' in html
    db.session.expire_all()
    assert db.session.get(Appointment, original.id).status is Status.BOOKED
    moved = client.post_form(page, {**form, "version": str(original.version)})
    assert moved.status_code == 302
    # the tab that lost: the visit was moved meanwhile, and the page says where to
    db.session.expire_all()
    gone = client.post_form(page, {**form, "start": "15:00"})
    assert gone.status_code == 409
    assert "It was moved to 4 Mar 2030, 14:00." in gone.get_data(as_text=True)


def test_a_move_onto_a_taken_time_or_from_a_stale_page_changes_nothing(client, login, clinic, db):
    login(Role.FRONT_DESK)
    original = _book(clinic)
    _book(clinic, patient=clinic.other_patient, starts_at=MONDAY_10AM + timedelta(hours=1))
    clash = _move(client, original, start="11:00")
    page = client.get(clash.headers["Location"]).get_data(as_text=True)
    assert "Not moved: that time is taken" in page
    stale = _move(client, original, start="12:00", version=str(original.version - 1))
    assert "changed meanwhile" in client.get(stale.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Appointment, original.id).status is Status.BOOKED


def test_the_board_words_phone_checks_and_links_by_role(client, login, clinic, db):
    today = clinic_today()
    start = clinic_day_bounds(today)[0]  # at the day's start: already due, at any time of day
    call = _book(clinic, starts_at=start, provider=clinic.nurse, kind=VisitKind.PHONE_CHECK)
    visit = _book(clinic, starts_at=start, patient=clinic.other_patient)
    services.change_status(visit, Status.CHECKED_IN, by=None)
    services.change_status(visit, Status.IN_PROGRESS, by=None)
    services.change_status(visit, Status.COMPLETED, by=None)
    login(Role.FRONT_DESK)
    html = client.get("/schedule/board").get_data(as_text=True)
    assert "To call" in html and ">Reached<" in html and "Not reached" in html
    assert "Visit complete" in html and "Discharged" not in html
    assert f'href="/patients/{call.patient_id}"' in html
    assert "Booked, not arrived" not in html  # the phone check is not "arriving"


def test_clinicians_board_names_open_the_chart(client, login, clinic, db):
    start = clinic_day_bounds(clinic_today())[0] + timedelta(hours=10)
    visit = _book(clinic, starts_at=start)
    login(Role.PROVIDER)
    html = client.get("/schedule/board").get_data(as_text=True)
    assert f'href="/clinical/patients/{visit.patient_id}/chart"' in html
    assert f'href="/patients/{visit.patient_id}"' not in html


def test_the_week_grid_is_kept_until_what_it_shows_changes(client, login, clinic, db, monkeypatch):
    """The days' markup is built once and reused while the visits, their patients, the
    clinicians and their hours are unchanged; each of those changes shows on the next view,
    and every view's audit row names the patients shown."""
    from clinic.scheduling import week_grid

    built = count_calls(monkeypatch, week_grid, "visit_rows")
    login(Role.FRONT_DESK)
    visit = _book(clinic)
    week = "/schedule/week?date=2030-03-04"

    def shown(*, built_now: bool) -> str:
        before = len(built)
        html = client.get(week).get_data(as_text=True)
        assert len(built) == before + built_now
        return html

    assert "Quist, Nora" in shown(built_now=True)
    assert "Quist, Nora" in shown(built_now=False)  # kept
    views = db.session.execute(
        sa.select(AuditEvent.id, audit_event_patient.c.patient_id)
        .join(audit_event_patient, audit_event_patient.c.audit_event_id == AuditEvent.id)
        .where(AuditEvent.action == "schedule.week_viewed")
    ).all()
    assert len(views) == 2 and {patient for _, patient in views} == {clinic.patient.id}

    clinic.patient.family_name = "Quest"  # the patient's record edited
    db.session.commit()
    assert "Quest, Nora" in shown(built_now=True)
    assert _move(client, visit, start="11:00").status_code == 302  # through the page's form
    assert 'data-start="11:00"' in shown(built_now=True)
    other = _book(clinic, patient=clinic.other_patient, starts_at=MONDAY_10AM + timedelta(hours=3))
    assert f"/schedule/appointments/{other.id}" in shown(built_now=True)
    clinic.other_provider.full_name = "Dr Ben Renamed"  # a clinician's name
    db.session.commit()
    assert "Dr Ben Renamed" in shown(built_now=True)
    hours = db.session.scalar(
        sa.select(WorkingHours).where(WorkingHours.clinician_id == clinic.provider.id)
    )
    hours.ends = time(16, 0)  # their hours
    db.session.commit()
    assert "works 09:00–16:00" in shown(built_now=True)
    assert "works 09:00–16:00" in shown(built_now=False)


def test_kept_weeks_are_per_permission(client, sign_in_as, clinic, db):
    """A clinician's view of a week a front desk member saw first has no move controls."""
    _book(clinic)
    sign_in_as(Role.FRONT_DESK)
    assert "data-move-open" in client.get("/schedule/week?date=2030-03-04").get_data(as_text=True)
    sign_in_as(Role.CLINICAL_STAFF, clinic.nurse)  # already in the grid: nothing else changes
    html = client.get("/schedule/week?date=2030-03-04").get_data(as_text=True)
    assert "Dr Ada Stone" in html and "data-move-open" not in html


def test_the_move_form_knows_today_and_the_next_start_mark(client, login, clinic, db):
    """week.js starts a drop on today's free time at the page's "now" (data-today, data-now):
    the next five-minute mark of the clinic's clock; free cells carry their end."""
    login(Role.FRONT_DESK)
    html = client.get("/schedule/week").get_data(as_text=True)
    found = re.search(r'id="move-form"[^>]*data-today="([^"]+)" data-now="(\d\d):(\d\d)"', html)
    assert found, html[:2000]
    day, _mark = services.next_start_mark()
    assert found.group(1) == day.isoformat() and int(found.group(3)) % 5 == 0
    assert re.search(r'data-drop-slot[^>]*data-start="\d\d:\d\d" data-end="\d\d:\d\d"', html)
