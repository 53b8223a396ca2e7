"""Booking rules: overlaps for provider, room and patient; edges; the database's own guard."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from clinic.auth.models import Role
from clinic.errors import Refused
from clinic.models.audit import AuditEvent
from clinic.models.base import utcnow
from clinic.scheduling import services
from clinic.scheduling.models import Appointment, Status, VisitKind
from clinic.timeutil import clinic_today
from tests.scheduling.conftest import MONDAY_10AM
from tests.scheduling.factories import make_appointment


def _book(
    clinic,
    *,
    starts_at=MONDAY_10AM,
    provider=None,
    room=None,
    patient=None,
    kind=VisitKind.EVALUATION,
    minutes=None,
):
    return services.book(
        patient=patient or clinic.patient,
        provider=provider or clinic.provider,
        room=room if room is not None else (clinic.exam if kind.needs_room else None),
        kind=kind,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=minutes) if minutes else None,
        by=None,
    )


def test_a_booking_takes_the_kind_default_length_and_is_audited(clinic, db):
    appt = _book(clinic)
    assert appt.status is Status.BOOKED
    assert appt.ends_at - appt.starts_at == timedelta(minutes=60)
    assert (
        db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.object_id == str(appt.id)))
        == "appointment.booked"
    )


def test_back_to_back_appointments_are_allowed(clinic):
    first = _book(clinic)
    second = _book(clinic, starts_at=first.ends_at, patient=clinic.other_patient)
    before = _book(
        clinic, starts_at=first.starts_at - timedelta(minutes=60), patient=clinic.other_patient
    )
    assert second.starts_at == first.ends_at and before.ends_at == first.starts_at


@pytest.mark.parametrize("shared", ["provider", "room", "patient"])
def test_overlap_on_provider_room_or_patient_is_refused(clinic, shared):
    first = _book(clinic)
    other = {
        "provider": clinic.other_provider,
        "room": clinic.exam2,
        "patient": clinic.other_patient,
    }
    other[shared] = getattr(first, shared)
    with pytest.raises(services.BookingConflict) as caught:
        _book(clinic, starts_at=MONDAY_10AM + timedelta(minutes=59), **other)
    assert caught.value.clashes == [first]
    suggestions = caught.value.suggestions
    assert suggestions and suggestions[0].starts_at >= first.ends_at


def test_cancelled_and_no_show_appointments_free_the_slot(clinic):
    first = _book(clinic)
    services.change_status(first, Status.CANCELLED, by=None, reason="Patient is travelling")
    second = _book(clinic, patient=clinic.other_patient)
    services.change_status(
        second, Status.NO_SHOW, by=None, now=second.starts_at + timedelta(minutes=20)
    )
    third = _book(clinic)
    assert third.status is Status.BOOKED


def test_the_database_refuses_an_overlap_the_application_did_not_check(clinic, db):
    make_appointment(provider=clinic.provider, patient=clinic.patient, starts_at=MONDAY_10AM)
    with pytest.raises(IntegrityError), db.session.begin_nested():
        make_appointment(provider=clinic.provider, starts_at=MONDAY_10AM + timedelta(minutes=10))


def test_the_database_refuses_reviving_a_cancelled_appointment_into_a_taken_slot(clinic, db):
    old = make_appointment(provider=clinic.provider, starts_at=MONDAY_10AM, status=Status.CANCELLED)
    make_appointment(provider=clinic.provider, starts_at=MONDAY_10AM)
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(
            sa.update(Appointment)
            .where(Appointment.id == old.id)
            .values(status="booked", cancel_reason=None)
        )


def test_visit_rules_room_kind_and_who_holds_it(clinic):
    with pytest.raises(Refused, match="procedure room"):
        _book(clinic, kind=VisitKind.PROCEDURE, room=clinic.exam)
    with pytest.raises(Refused, match="held by a provider"):
        _book(clinic, kind=VisitKind.EVALUATION, provider=clinic.nurse)
    with pytest.raises(Refused, match="needs a room"):
        services.book(
            patient=clinic.patient,
            provider=clinic.provider,
            room=None,
            kind=VisitKind.EVALUATION,
            starts_at=MONDAY_10AM,
            by=None,
        )
    call = _book(clinic, kind=VisitKind.PHONE_CHECK, provider=clinic.nurse)
    assert call.room is None and call.length_minutes == 10
    procedure = _book(
        clinic,
        kind=VisitKind.PROCEDURE,
        room=clinic.procedure,
        starts_at=MONDAY_10AM + timedelta(hours=2),
    )
    assert procedure.length_minutes == 120


def test_reschedule_links_the_new_appointment_and_frees_the_old_time(clinic, db):
    original = _book(clinic)
    moved = services.reschedule(
        original,
        provider=clinic.provider,
        room=clinic.exam,
        starts_at=MONDAY_10AM + timedelta(days=1),
        ends_at=MONDAY_10AM + timedelta(days=1, hours=1),
        notes=None,
        by=None,
    )
    assert original.status is Status.CANCELLED and "Rescheduled" in original.cancel_reason
    assert moved.rescheduled_from is original and original.rescheduled_to is moved
    _book(clinic, patient=clinic.other_patient)  # the old time is free


def test_a_refused_reschedule_changes_nothing(clinic, db):
    original = _book(clinic)
    blocker = _book(clinic, patient=clinic.other_patient, starts_at=MONDAY_10AM + timedelta(days=1))
    with pytest.raises(services.BookingConflict):
        services.reschedule(
            original,
            provider=clinic.provider,
            room=clinic.exam,
            starts_at=blocker.starts_at,
            ends_at=blocker.ends_at,
            notes=None,
            by=None,
        )
    db.session.expire_all()
    assert original.status is Status.BOOKED and original.rescheduled_to is None


def _form(clinic, **changes):
    form = {
        "patient_mrn": clinic.patient.mrn,
        "kind": "evaluation",
        "provider": str(clinic.provider.id),
        "room": str(clinic.exam.id),
        "day": "2030-03-04",
        "start": "10:00",
        "minutes": "",
        "notes": "Bring the MRI disc",
    }
    form.update(changes)
    return form


def test_booking_through_the_form(client, login, clinic, db):
    login(Role.FRONT_DESK)
    response = client.post_form("/schedule/book", _form(clinic))
    assert response.status_code == 302
    appt = db.session.scalar(
        sa.select(Appointment).where(Appointment.patient_id == clinic.patient.id)
    )
    assert appt.starts_at == MONDAY_10AM and appt.notes == "Bring the MRI disc"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Quist, Nora" in page and "10:00" in page


def test_a_clash_in_the_form_is_a_409_naming_it_with_free_slots_and_input_kept(
    client, login, clinic, db
):
    login(Role.FRONT_DESK)
    _book(clinic, patient=clinic.other_patient)
    response = client.post_form("/schedule/book", _form(clinic, start="10:30", notes="Second try"))
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "That time is taken" in html and clinic.other_patient.display_name in html
    assert 'id="suggested-slots"' in html and "time=11:00" in html
    assert "Second try" in html and 'value="10:30"' in html
    count = db.session.scalar(
        sa.select(sa.func.count(Appointment.id)).where(Appointment.patient_id == clinic.patient.id)
    )
    assert count == 0


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"patient_mrn": "ZZ999999"}, "patient_mrn", "No patient has this MRN"),
        ({"start": "10:07"}, "start", "five-minute mark"),
        ({"day": "2030-02-30"}, "day", "real date"),
        ({"room": "0"}, "room", "An evaluation needs a room"),
        ({"minutes": "2"}, "minutes", "between 5 and 480"),
    ],
)
def test_bad_booking_input_is_shown_beside_the_field(
    client, login, clinic, changes, field, message
):
    login(Role.FRONT_DESK)
    response = client.post_form("/schedule/book", _form(clinic, **changes))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in html and message in html
    assert "Bring the MRI disc" in html


def test_a_time_already_past_is_refused_by_every_way_the_desk_books(client, login, clinic, db):
    """The desk books from now on (a walk-in's five-minute mark just past is still taken):
    booking, the reschedule form and the week grid's move refuse a time already past; the
    system's own bookings (demo days, tests) are not held to it."""
    login(Role.FRONT_DESK)
    yesterday = clinic_today() - timedelta(days=1)
    response = client.post_form("/schedule/book", _form(clinic, day=yesterday.isoformat()))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="start-error"' in html and "That time has passed" in html
    assert "Bring the MRI disc" in html
    assert db.session.scalar(sa.select(sa.func.count(Appointment.id))) == 0
    original = _book(clinic)  # 2030: ahead
    page = f"/schedule/appointments/{original.id}/reschedule"
    back = client.post_form(
        page, {**_form(clinic, day=yesterday.isoformat()), "version": str(original.version)}
    )
    assert back.status_code == 422 and "That time has passed" in back.get_data(as_text=True)
    moved = client.post_form(
        f"/schedule/appointments/{original.id}/move",
        {
            "provider": str(clinic.provider.id),
            "day": yesterday.isoformat(),
            "start": "10:00",
            "version": str(original.version),
            "next": "/schedule/week",
        },
        token_from="/schedule/week",
    )
    assert moved.status_code == 302
    assert "That time has passed" in client.get("/schedule/week").get_data(as_text=True)
    db.session.refresh(original)
    assert original.status is Status.BOOKED and original.rescheduled_to is None
    walk_in = utcnow() - timedelta(minutes=10)  # within the grace: still booked
    services.book(
        patient=clinic.other_patient,
        provider=clinic.provider,
        room=clinic.exam,
        kind=VisitKind.EVALUATION,
        starts_at=walk_in,
        by=None,
        from_now=True,
    )


def test_a_free_time_link_for_earlier_today_starts_from_now(client, login, clinic):
    """The week's and day's free-time links carry the block's start: for today's free time
    that began earlier, the form starts at the next five-minute mark instead."""
    login(Role.FRONT_DESK)
    today, mark = services.next_start_mark()
    html = client.get(f"/schedule/book?date={today.isoformat()}&time=00:00").get_data(as_text=True)
    assert re.search(rf'name="start"[^>]*value="{mark:%H:%M}', html), html[:3000]
    later = client.get("/schedule/book?date=2030-03-04&time=09:00").get_data(as_text=True)
    assert re.search(r'name="start"[^>]*value="09:00', later)


def test_a_visit_that_can_no_longer_move_says_so_before_its_form(client, login, clinic, db):
    login(Role.FRONT_DESK)
    original = _book(clinic)
    services.change_status(original, Status.CANCELLED, by=None, reason="Patient called")
    db.session.commit()
    page = client.get(f"/schedule/appointments/{original.id}/reschedule")
    assert page.status_code == 302
    assert page.headers["Location"].endswith(f"/schedule/appointments/{original.id}")
    shown = client.get(page.headers["Location"]).get_data(as_text=True)
    assert "can no longer be moved" in shown


def test_clinicians_cannot_book(client, login, clinic):
    login(Role.PROVIDER)
    assert client.get("/schedule/book").status_code == 403


def test_booking_outside_working_hours_is_allowed_with_a_warning(client, login, clinic):
    login(Role.FRONT_DESK)
    response = client.post_form("/schedule/book", _form(clinic, start="18:00"))
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "outside Dr Ada Stone" in page


def test_moving_through_the_form_and_a_suggested_time(client, login, clinic, db):
    login(Role.FRONT_DESK)
    original = _book(clinic)
    _book(clinic, patient=clinic.other_patient, starts_at=MONDAY_10AM + timedelta(days=1))
    page = f"/schedule/appointments/{original.id}/reschedule"
    clash = client.post_form(
        page, {**_form(clinic, day="2030-03-05", start="10:30"), "version": str(original.version)}
    )
    html = clash.get_data(as_text=True)
    assert clash.status_code == 409 and "That time is taken" in html
    assert f"{page}?date=2030-03-05&amp;time=11:00" in html
    prefilled = client.get(f"{page}?date=2030-03-05&time=11:00").get_data(as_text=True)
    assert 'value="11:00"' in prefilled and 'value="2030-03-05"' in prefilled
    moved = client.post_form(
        page, {**_form(clinic, day="2030-03-05", start="11:00"), "version": str(original.version)}
    )
    assert moved.status_code == 302
    new = db.session.scalar(
        sa.select(Appointment).where(Appointment.rescheduled_from_id == original.id)
    )
    assert new.starts_at == MONDAY_10AM + timedelta(days=1, hours=1)
    detail = client.get(moved.headers["Location"]).get_data(as_text=True)
    assert "Moved from" in detail


def _under_way(clinic, db, status=Status.CHECKED_IN, **kwargs):
    """A visit checked in (and, for IN_PROGRESS, begun) at its own time."""
    appt = _book(clinic, **kwargs)
    services.change_status(appt, Status.CHECKED_IN, by=None, now=appt.starts_at)
    if status is Status.IN_PROGRESS:
        services.change_status(appt, Status.IN_PROGRESS, by=None, now=appt.starts_at)
    return appt


def _move(appt, **changes):
    values = dict(
        provider=appt.provider, room=appt.room, starts_at=appt.starts_at, ends_at=appt.ends_at,
        notes=appt.notes, by=None,
    )  # fmt: skip
    return services.reschedule(appt, **{**values, **changes})


@pytest.mark.parametrize("status", [Status.CHECKED_IN, Status.IN_PROGRESS])
def test_a_visit_under_way_changes_room_and_notes_in_place(clinic, db, status):
    """Domain: a reschedule frees the old slot and books a new one; a visit under way keeps
    its slot, clinician and status, so a room or notes change is made on the visit itself."""
    appt = _under_way(clinic, db, status)
    version = appt.version
    same = _move(appt, room=clinic.exam2, notes="Moved: the exam A couch is broken")
    assert same is appt and appt.status is status and appt.rescheduled_to is None
    assert appt.room is clinic.exam2 and appt.notes == "Moved: the exam A couch is broken"
    assert appt.starts_at == MONDAY_10AM and appt.provider is clinic.provider
    assert appt.version > version
    assert db.session.scalar(sa.select(sa.func.count(Appointment.id))) == 1
    (row,) = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "appointment.changed")
    )
    assert row.object_id == str(appt.id) and row.patient_id == clinic.patient.id
    assert "couch" not in row.detail and "notes changed" in row.detail
    _book(clinic, patient=clinic.other_patient, provider=clinic.other_provider)  # exam A is free


@pytest.mark.parametrize(
    "change",
    [
        {
            "starts_at": MONDAY_10AM + timedelta(hours=1),
            "ends_at": MONDAY_10AM + timedelta(hours=2),
        },
        {"ends_at": MONDAY_10AM + timedelta(minutes=90)},
        {"provider": "other_provider"},
    ],
)
def test_a_visit_under_way_keeps_its_time_and_clinician(clinic, db, change):
    appt = _under_way(clinic, db)
    if change.get("provider"):
        change = {"provider": clinic.other_provider}
    with pytest.raises(Refused, match="only the room and notes can change"):
        _move(appt, room=clinic.exam2, **change)
    db.session.expire_all()
    assert appt.room_id == clinic.exam.id and appt.status is Status.CHECKED_IN
    assert db.session.scalar(sa.select(sa.func.count(Appointment.id))) == 1


def test_a_visit_under_way_cannot_take_a_room_in_use(clinic, db):
    appt = _under_way(clinic, db)
    _book(clinic, patient=clinic.other_patient, provider=clinic.other_provider, room=clinic.exam2)
    with pytest.raises(Refused) as refused:
        _move(appt, room=clinic.exam2, notes="new note")
    assert refused.value.field == "room" and "in use" in str(refused.value)
    db.session.expire_all()
    assert appt.room_id == clinic.exam.id and appt.notes is None
    with pytest.raises(Refused, match="needs a room"):
        _move(appt, room=None)


def test_the_desk_changes_the_room_of_a_checked_in_visit_through_the_form(
    client, login, clinic, db
):
    login(Role.FRONT_DESK)
    appt = _under_way(clinic, db)
    db.session.commit()
    shown = client.get(f"/schedule/appointments/{appt.id}").get_data(as_text=True)
    assert "Change room or notes" in shown and "Move to another time" not in shown
    page = f"/schedule/appointments/{appt.id}/reschedule"
    form = client.get(page)
    assert form.status_code == 200 and "Its time and clinician stay" in form.get_data(as_text=True)
    later = client.post_form(page, {**_form(clinic, start="11:00"), "version": str(appt.version)})
    assert later.status_code == 422 and 'id="start-error"' in later.get_data(as_text=True)
    done = client.post_form(
        page, {**_form(clinic, room=str(clinic.exam2.id)), "version": str(appt.version)}
    )
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/appointments/{appt.id}")
    db.session.expire_all()
    assert appt.room_id == clinic.exam2.id and appt.status is Status.CHECKED_IN
    assert appt.notes == "Bring the MRI disc"
    assert "Room and notes saved." in client.get(done.headers["Location"]).get_data(as_text=True)
