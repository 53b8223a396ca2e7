"""The slot finder and clinic time: working hours, busy people and rooms, daylight saving."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.scheduling.calendar import Column, build_grid
from clinic.scheduling.models import Appointment, Status, VisitKind
from clinic.scheduling.slots import find_slots, hours_by_clinician
from clinic.timeutil import to_clinic
from tests.scheduling.conftest import MONDAY_10AM
from tests.scheduling.factories import make_appointment, make_provider

# In 2030 New York moves its clocks forward on Sunday 10 March and back on Sunday 3 November.
FRIDAY_BEFORE_DST = date(2030, 3, 8)
MONDAY_AFTER_DST = date(2030, 3, 11)


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_slots_follow_working_hours_in_quarter_hours(clinic):
    slots = find_slots(
        VisitKind.FOLLOW_UP,
        providers=[clinic.provider],
        rooms=[],
        after=_utc(2030, 3, 4, 13, 7),
        limit=3,
    )
    # 13:07 UTC is 08:07 in New York, before the 09:00 start.
    assert [s.starts_at for s in slots] == [
        _utc(2030, 3, 4, 14, 0),
        _utc(2030, 3, 4, 14, 15),
        _utc(2030, 3, 4, 14, 30),
    ]
    assert all(s.ends_at - s.starts_at == timedelta(minutes=30) for s in slots)


def test_no_slot_starts_before_the_moment_asked_for(clinic):
    """Seconds into a quarter hour are past it: at 14:15:30 the first slot is 14:30 (a slot
    at 14:15 had already started, and a recall page planned then was planned anew on every
    view, its first suggestion never ahead of the clock)."""
    starts = [
        find_slots(
            VisitKind.FOLLOW_UP, providers=[clinic.provider], rooms=[], after=after, limit=1
        )[0].starts_at
        for after in (
            _utc(2030, 3, 4, 14, 15),
            _utc(2030, 3, 4, 14, 15, 0, 1),
            _utc(2030, 3, 4, 14, 15, 30),
            _utc(2030, 3, 4, 14, 29, 59),
        )
    ]
    assert starts == [_utc(2030, 3, 4, 14, 15)] + [_utc(2030, 3, 4, 14, 30)] * 3


def test_slots_skip_busy_clinicians_patients_and_rooms(clinic):
    make_appointment(
        provider=clinic.provider,
        starts_at=MONDAY_10AM - timedelta(hours=1),
        minutes=60,
        kind=VisitKind.EVALUATION,
    )
    make_appointment(
        provider=clinic.other_provider, patient=clinic.patient, starts_at=MONDAY_10AM, minutes=30
    )
    make_appointment(
        provider=clinic.other_provider,
        room=clinic.exam,
        starts_at=MONDAY_10AM + timedelta(minutes=30),
        minutes=30,
    )
    slots = find_slots(
        VisitKind.EVALUATION,
        providers=[clinic.provider],
        rooms=[clinic.exam],
        patient=clinic.patient,
        after=MONDAY_10AM - timedelta(hours=1),
        limit=1,
    )
    # 09-10 the provider is busy, 10:00-10:30 the patient, 10:30-11:00 the room.
    assert slots[0].starts_at == MONDAY_10AM + timedelta(hours=1)
    assert slots[0].room == clinic.exam


def test_a_cancelled_appointment_leaves_its_slot_free(clinic):
    make_appointment(
        provider=clinic.provider,
        starts_at=MONDAY_10AM - timedelta(hours=1),
        status=Status.CANCELLED,
    )
    slots = find_slots(
        VisitKind.FOLLOW_UP,
        providers=[clinic.provider],
        rooms=[],
        after=MONDAY_10AM - timedelta(hours=1),
        limit=1,
    )
    assert slots[0].starts_at == MONDAY_10AM - timedelta(hours=1)


def test_another_free_room_is_chosen_and_days_off_are_skipped(db):
    from tests.scheduling.factories import make_room

    weekday_only = make_provider(weekdays=range(5))
    room_a, room_b = make_room("Room A"), make_room("Room B")
    saturday_9am = _utc(2030, 3, 9, 14, 0)
    slots = find_slots(
        VisitKind.EVALUATION,
        providers=[weekday_only],
        rooms=[room_a, room_b],
        after=saturday_9am,
        limit=1,
    )
    assert slots[0].starts_at == _utc(2030, 3, 11, 13, 0)  # Monday 09:00 EDT
    make_appointment(room=room_a, starts_at=slots[0].starts_at, kind=VisitKind.EVALUATION)
    again = find_slots(
        VisitKind.EVALUATION,
        providers=[weekday_only],
        rooms=[room_a, room_b],
        after=saturday_9am,
        limit=1,
    )
    assert again[0].room == room_b


def test_working_hours_keep_their_wall_clock_time_across_the_dst_change(db):
    provider = make_provider(starts=time(9), ends=time(17))
    before = find_slots(
        VisitKind.FOLLOW_UP, providers=[provider], rooms=[], after=_utc(2030, 3, 8, 0, 0), limit=1
    )
    after = find_slots(
        VisitKind.FOLLOW_UP, providers=[provider], rooms=[], after=_utc(2030, 3, 11, 0, 0), limit=1
    )
    assert before[0].starts_at == _utc(2030, 3, 8, 14, 0)  # 09:00 EST = UTC-5
    assert after[0].starts_at == _utc(2030, 3, 11, 13, 0)  # 09:00 EDT = UTC-4


def test_the_booking_form_reads_clinic_time_on_both_sides_of_the_change(client, login, clinic, db):
    login(Role.FRONT_DESK)
    for day, expected in (
        ("2030-03-08", _utc(2030, 3, 8, 15, 0)),
        ("2030-03-11", _utc(2030, 3, 11, 14, 0)),
    ):
        response = client.post_form(
            "/schedule/book",
            {
                "patient_mrn": clinic.patient.mrn,
                "kind": "follow_up",
                "provider": str(clinic.provider.id),
                "room": "0",
                "day": day,
                "start": "10:00",
            },
        )
        assert response.status_code == 302
        booked = db.session.scalar(
            sa.select(Appointment.starts_at).where(Appointment.starts_at == expected)
        )
        assert booked == expected
        page = client.get(f"/schedule/day?date={day}").get_data(as_text=True)
        assert "10:00–10:30" in page


def test_a_time_the_clocks_skip_is_refused(client, login, clinic):
    login(Role.FRONT_DESK)
    response = client.post_form(
        "/schedule/book",
        {
            "patient_mrn": clinic.patient.mrn,
            "kind": "phone_check",
            "provider": str(clinic.nurse.id),
            "room": "0",
            "day": "2030-03-10",
            "start": "02:30",
        },
    )
    assert response.status_code == 422
    assert "does not exist on that day" in response.get_data(as_text=True)


def test_the_day_grid_on_the_short_day_has_no_missing_rows(db):
    provider = make_provider(starts=time(0, 0), ends=time(5, 0))
    hours = hours_by_clinician([provider.id])[provider.id][6]  # Sunday
    grid = build_grid(date(2030, 3, 10), [Column(provider.id, "P", hours)], [], lambda a: None)
    labels = [to_clinic(row).strftime("%H:%M") for row in grid.rows]
    # 01:45 EST is followed by 03:00 EDT: the grid runs on real time, the labels on clinic time.
    assert "02:00" not in labels and labels.index("03:00") == labels.index("01:45") + 1
    assert grid.columns[0].cells[labels.index("03:00")] == "free"


def test_the_slot_finder_page_lists_and_links_free_times(client, login, clinic, monkeypatch):
    login(Role.FRONT_DESK)
    monkeypatch.setattr("clinic.scheduling.routes.booking.utcnow", lambda: _utc(2030, 3, 4, 13, 0))
    html = client.get(
        f"/schedule/slots?kind=evaluation&provider={clinic.provider.id}&room=0&day=2030-03-04"
    ).get_data(as_text=True)
    assert 'id="slot-results"' in html and "4 Mar 2030, 09:00" in html
    assert "Book this" in html and "time=09:00" in html


def test_the_slot_finder_refuses_unknown_input(client, login, clinic):
    login(Role.FRONT_DESK)
    assert client.get("/schedule/slots?kind=teleport").status_code == 400


def test_busy_spans_answer_like_checking_every_span():
    """The planner's sorted spans (bisect and running latest end) agree with a plain scan,
    overlapping and nested spans and holds added later included."""
    import random
    from datetime import UTC, datetime, timedelta

    from clinic.scheduling.slots import Spans, _spans

    rng = random.Random(5)
    base = datetime(2030, 1, 7, 13, tzinfo=UTC)
    for _round in range(200):
        raw = []
        for _ in range(rng.randint(0, 12)):
            start = base + timedelta(minutes=15 * rng.randint(0, 40))
            raw.append((start, start + timedelta(minutes=15 * rng.randint(1, 12))))
        spans = _spans(raw[: len(raw) // 2])
        for start, end in raw[len(raw) // 2 :]:
            spans.add(start, end)
        for _ in range(20):
            start = base + timedelta(minutes=15 * rng.randint(-2, 45))
            end = start + timedelta(minutes=15 * rng.randint(1, 6))
            expected = all(not (s < end and start < e) for s, e in raw)
            assert spans.free(start, end) is expected
    assert Spans().free(base, base + timedelta(minutes=30))
