"""Follow-up recalls: which follow-ups are listed, one-click booking, the journey link on
appointments, and where patients are on the board (from their journey stages)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from clinic.auth.models import Role
from clinic.errors import Refused
from clinic.extensions import db as _db
from clinic.journeys import models as m
from clinic.journeys import walkthrough as walk
from clinic.journeys.services import followups, journeys, stages
from clinic.journeys.states import Therapy
from clinic.models.audit import AuditEvent, audit_event_patient
from clinic.models.base import utcnow
from clinic.scheduling import recalls, services
from clinic.scheduling.models import Appointment, RoomKind, Status, VisitKind, WorkingHours
from clinic.timeutil import clinic_today, clinic_tz
from tests.factories import PatientFactory, make_user
from tests.scheduling.conftest import count_calls
from tests.scheduling.factories import make_appointment, make_room

TODAY = date(2030, 3, 4)


def _fu(**days) -> m.FollowUp:
    """A detached follow-up with its window given as day offsets from TODAY."""
    return m.FollowUp(
        label="x",
        window_opens_on=TODAY + timedelta(days=days["opens"]),
        due_on=TODAY + timedelta(days=days.get("due", days["opens"])),
        window_closes_on=TODAY + timedelta(days=days["closes"]),
    )


@pytest.mark.parametrize(
    ("opens", "closes", "state"),
    [
        (-10, -1, "overdue"),
        (-10, 0, "closing"),  # the last day of the window
        (-3, 7, "closing"),
        (-3, 8, "open"),
        (0, 30, "open"),
        (1, 30, "upcoming"),
    ],
)
def test_window_state(opens, closes, state):
    assert recalls.window_state(_fu(opens=opens, closes=closes), TODAY) == state


def _journey(therapy=Therapy.PRP):
    """A PRP journey collected today, its provider working 8 to 18 every day, an exam room."""
    provider = make_user(Role.PROVIDER, full_name="Dr Rhea Voss")
    for day in range(7):
        _db.session.add(
            WorkingHours(clinician_id=provider.id, weekday=day, starts=time(8), ends=time(18))
        )
    condition = _db.session.scalar(sa.select(m.Condition).limit(1))
    journey = journeys.open_journey(
        PatientFactory(),
        therapy=therapy,
        provider=provider,
        condition_ids=[condition.id],
        targets=[("L4-L5", "midline", "disc")],
        by=provider,
    )
    walk.evaluate(journey, provider)
    walk.collect(journey, provider)
    return journey, provider


def _follow_up(journey, label: str, opens: int, closes: int) -> m.FollowUp:
    today = clinic_today()
    follow_up = m.FollowUp(
        patient_id=journey.patient_id,
        journey_id=journey.id,
        cycle_id=journey.cycles[0].id,
        label=label,
        window_opens_on=today + timedelta(days=opens),
        due_on=today + timedelta(days=max(opens, min(0, closes))),
        window_closes_on=today + timedelta(days=closes),
    )
    _db.session.add(follow_up)
    _db.session.flush()
    return follow_up


def _listed() -> list[str]:
    rows, _total = recalls.recall_page(clinic_today(), now=utcnow())
    return [r.follow_up.label for r in rows]


def test_recalls_list_open_closing_overdue_and_soon_but_not_booked_done_or_far(db):
    journey, provider = _journey()
    _follow_up(journey, "open", -5, 20)
    _follow_up(journey, "closing", -5, 3)
    _follow_up(journey, "overdue", -30, -2)
    _follow_up(journey, "soon", 10, 30)
    _follow_up(journey, "far", 40, 60)
    booked = _follow_up(journey, "booked", -5, 20)
    done = _follow_up(journey, "done", -5, 20)
    missed = _follow_up(journey, "missed", -5, 20)
    rebook = _follow_up(journey, "cancelled booking", -5, 20)
    start = datetime.combine(clinic_today() + timedelta(days=2), time(9), clinic_tz())
    services.book(
        patient=journey.patient,
        provider=provider,
        room=None,
        kind=VisitKind.FOLLOW_UP,
        starts_at=start.astimezone(UTC),
        by=None,
        follow_up=booked,
    )
    cancelled = services.book(
        patient=journey.patient,
        provider=provider,
        room=None,
        kind=VisitKind.FOLLOW_UP,
        starts_at=(start + timedelta(hours=2)).astimezone(UTC),
        by=None,
        follow_up=rebook,
    )
    services.change_status(cancelled, Status.CANCELLED, by=None, reason="patient ill")
    followups.record_follow_up(
        done,
        {
            "plan": "continue",
            "adverse_infection": False,
            "adverse_pain_flare": False,
            "adverse_swelling": False,
            "adverse_neuro_deficit": False,
        },
        provider,
    )
    followups.mark_missed(missed, provider, reason="unreachable")

    assert set(_listed()) == {"overdue", "open", "closing", "cancelled booking", "soon"}
    rows, total = recalls.recall_page(clinic_today(), now=utcnow())
    assert total == 5
    assert [r.follow_up.due_on for r in rows] == sorted(r.follow_up.due_on for r in rows)
    assert {r.follow_up.label: r.state for r in rows}["overdue"] == "overdue"
    assert recalls.count_due(clinic_today()) == {"due": 4, "overdue": 1}
    overdue_only, _ = recalls.recall_page(clinic_today(), now=utcnow(), show="overdue")
    assert [r.follow_up.label for r in overdue_only] == ["overdue"]


def test_a_day_one_call_is_a_phone_check_and_later_ones_are_visits(db):
    journey, _provider = _journey()
    steps = {
        s.label: s
        for s in _db.session.scalars(
            sa.select(m.FollowUpProtocolStep).where(m.FollowUpProtocolStep.therapy == Therapy.PRP)
        )
    }
    early = min(steps.values(), key=lambda s: s.due_days)
    late = max(steps.values(), key=lambda s: s.due_days)
    call = _follow_up(journey, early.label, -1, 2)
    visit = _follow_up(journey, late.label, -1, 20)
    assert recalls.visit_kind_for(call, early.due_days) is VisitKind.PHONE_CHECK
    assert recalls.visit_kind_for(visit, late.due_days) is VisitKind.FOLLOW_UP
    unnamed = m.FollowUp(label="Day 2 phone call")
    assert recalls.visit_kind_for(unnamed, None) is VisitKind.PHONE_CHECK
    assert recalls.visit_kind_for(m.FollowUp(label="3 months"), None) is VisitKind.FOLLOW_UP


def test_suggestions_are_free_slots_inside_the_window_and_never_shared(db):
    journey, provider = _journey()
    make_room("Exam R", RoomKind.EXAM)
    first = _follow_up(journey, "first", 3, 20)
    second = _follow_up(journey, "second", 3, 20)
    rows, _ = recalls.recall_page(clinic_today(), now=utcnow())
    slots = {r.follow_up.id: r.slot for r in rows}
    opens = datetime.combine(first.window_opens_on, time(8), clinic_tz())
    assert slots[first.id].starts_at == opens.astimezone(UTC)
    assert slots[first.id].provider.id == provider.id and slots[first.id].room is not None
    # the same patient cannot be in two places: the second suggestion comes after the first
    assert slots[second.id].starts_at >= slots[first.id].ends_at


def _page(client) -> str:
    return client.get("/schedule/recalls").get_data(as_text=True)


def _book_suggested(client, follow_up, slot):
    """The recall list's one click: book the suggested slot for this follow-up."""
    return client.post_form(
        f"/schedule/recalls/{follow_up.id}/book",
        {
            "kind": "follow_up",
            "provider": str(slot.provider.id),
            "room": str(slot.room.id) if slot.room else "",
            "starts_at": slot.starts_at.isoformat(),
        },
        token_from="/schedule/recalls",
    )


def test_one_click_books_the_suggested_slot_linked_to_the_follow_up(client, login, db):
    desk = login(Role.FRONT_DESK)
    journey, provider = _journey()
    follow_up = _follow_up(journey, "six weeks", 2, 20)
    html = _page(client)
    assert f'id="recall-{follow_up.id}"' in html and "Dr Rhea Voss" in html
    rows, _ = recalls.recall_page(clinic_today(), now=utcnow())
    slot = rows[0].slot
    response = _book_suggested(client, follow_up, slot)
    assert response.status_code == 302
    appointment = db.session.scalar(
        sa.select(Appointment).where(Appointment.follow_up_id.is_not(None))
    )
    assert appointment.follow_up_id == follow_up.id and appointment.booked_by_id == desk.id
    assert appointment.starts_at == slot.starts_at and appointment.provider_id == provider.id
    assert db.session.scalar(
        sa.select(AuditEvent).where(
            AuditEvent.action == "appointment.booked", AuditEvent.patient_id == journey.patient_id
        )
    )
    html = client.get("/schedule/recalls").get_data(as_text=True)
    assert f'id="recall-{follow_up.id}"' not in html and "Booked: Follow-up" in html
    page = client.get(f"/schedule/appointments/{appointment.id}").get_data(as_text=True)
    assert "Follow-up six weeks" in page


def test_one_click_on_a_taken_slot_shows_the_conflict_page(client, login, db):
    login(Role.FRONT_DESK)
    journey, provider = _journey()
    follow_up = _follow_up(journey, "six weeks", 2, 20)
    rows, _ = recalls.recall_page(clinic_today(), now=utcnow())
    slot = rows[0].slot
    make_appointment(starts_at=slot.starts_at, provider=provider, kind=VisitKind.FOLLOW_UP)
    response = client.post_form(
        f"/schedule/recalls/{follow_up.id}/book",
        {
            "kind": "follow_up",
            "provider": str(provider.id),
            "starts_at": slot.starts_at.isoformat(),
        },
        token_from="/schedule/recalls",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert 'id="booking-conflict"' in html and 'action="/schedule/book"' in html
    assert f'selected value="follow_up:{follow_up.id}"' in html
    assert "link=follow_up" in html  # suggested times keep the link
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Appointment)
            .where(Appointment.follow_up_id.is_not(None))
        )
        == 0
    )


def test_a_follow_up_is_booked_once_even_when_clicked_twice(client, login, db):
    login(Role.FRONT_DESK)
    journey, provider = _journey()
    follow_up = _follow_up(journey, "six weeks", 2, 20)
    base = datetime.combine(clinic_today() + timedelta(days=3), time(9), clinic_tz())
    for hours in (0, 2):
        client.post_form(
            f"/schedule/recalls/{follow_up.id}/book",
            {
                "kind": "follow_up",
                "provider": str(provider.id),
                "starts_at": (base + timedelta(hours=hours)).isoformat(),
            },
            token_from="/schedule/recalls",
        )
    live = db.session.scalars(
        sa.select(Appointment).where(Appointment.follow_up_id == follow_up.id)
    ).all()
    assert len(live) == 1
    assert "already booked" in client.get("/schedule/recalls").get_data(as_text=True)


def test_the_database_refuses_a_second_live_booking_of_one_follow_up(db):
    journey, provider = _journey()
    follow_up = _follow_up(journey, "six weeks", 2, 20)
    base = datetime.combine(clinic_today() + timedelta(days=3), time(9), clinic_tz())
    for hours in (0, 2):
        appointment = make_appointment(
            starts_at=(base + timedelta(hours=hours)).astimezone(UTC), provider=provider
        )
        appointment.follow_up_id = follow_up.id
        if hours:
            with pytest.raises(IntegrityError), db.session.begin_nested():
                db.session.flush()
        else:
            db.session.flush()


def test_booking_form_offers_the_patients_open_links_and_refuses_foreign_ones(client, login, db):
    login(Role.FRONT_DESK)
    journey, provider = _journey()
    own = _follow_up(journey, "six weeks", 2, 20)
    other_journey, _ = _journey()
    foreign = _follow_up(other_journey, "two weeks", 2, 20)
    html = client.get(f"/schedule/book?patient={journey.patient_id}").get_data(as_text=True)
    assert f'value="follow_up:{own.id}"' in html and f'value="follow_up:{foreign.id}"' not in html
    day = (clinic_today() + timedelta(days=3)).isoformat()
    form = {
        "patient_mrn": journey.patient.mrn,
        "kind": "follow_up",
        "provider": str(provider.id),
        "room": "0",
        "day": day,
        "start": "09:00",
        "link": f"follow_up:{foreign.id}",
    }
    response = client.post_form("/schedule/book", form)
    assert response.status_code == 422
    assert "open stages or follow-ups" in response.get_data(as_text=True)
    response = client.post_form("/schedule/book", {**form, "link": f"follow_up:{own.id}"})
    assert response.status_code == 302
    appointment = db.session.scalar(
        sa.select(Appointment).where(Appointment.follow_up_id == own.id)
    )
    assert appointment is not None


def test_a_stage_link_must_fit_the_visit(db):
    from clinic.journeys.states import StageKind

    journey, provider = _journey()
    injection = walk.stage_of(journey, StageKind.INJECTION)
    start = datetime.combine(clinic_today() + timedelta(days=3), time(9), clinic_tz())
    with pytest.raises(Refused, match="procedure"):
        services.book(
            patient=journey.patient,
            provider=provider,
            room=None,
            kind=VisitKind.FOLLOW_UP,
            starts_at=start.astimezone(UTC),
            by=None,
            stage=injection,
        )
    room = make_room("Procedure R", RoomKind.PROCEDURE)
    appointment = services.book(
        patient=journey.patient,
        provider=provider,
        room=room,
        kind=VisitKind.PROCEDURE,
        starts_at=start.astimezone(UTC),
        by=None,
        stage=injection,
    )
    assert appointment.stage_id == injection.id
    moved = services.reschedule(
        appointment,
        provider=provider,
        room=room,
        starts_at=(start + timedelta(days=1)).astimezone(UTC),
        ends_at=(start + timedelta(days=1, hours=2)).astimezone(UTC),
        notes=None,
        by=None,
    )
    assert moved.stage_id == injection.id  # a moved visit keeps its link


def test_the_board_shows_where_an_arrived_patient_is_from_the_journey(client, login, db):
    from clinic.journeys.states import StageKind

    login(Role.FRONT_DESK)
    provider = make_user(Role.PROVIDER)
    condition = db.session.scalar(sa.select(m.Condition).limit(1))
    journey = journeys.open_journey(
        PatientFactory(),
        therapy=Therapy.PRP,
        provider=provider,
        condition_ids=[condition.id],
        targets=[("L4-L5", "midline", "disc")],
        by=provider,
    )
    walk.evaluate(journey, provider)
    waiting = make_appointment(starts_at=utcnow(), status=Status.CHECKED_IN)
    appointment = make_appointment(
        starts_at=utcnow(), patient=journey.patient, provider=provider, status=Status.CHECKED_IN
    )
    html = client.get("/schedule/board/rows").get_data(as_text=True)
    assert html.count("Arrived, waiting") == 2
    walk.collect(journey, provider, complete=False)
    html = client.get("/schedule/board/rows").get_data(as_text=True)
    assert "In collection" in html and html.count("Arrived, waiting") == 1
    stage = walk.stage_of(journey, StageKind.COLLECTION)
    assert stage.status.value == "in_progress" and waiting.id != appointment.id


def test_front_desk_home_counts_recalls(client, login, db):
    login(Role.FRONT_DESK)
    journey, _ = _journey()
    _follow_up(journey, "overdue", -30, -2)
    _follow_up(journey, "open", -3, 20)
    html = client.get("/front-desk").get_data(as_text=True)
    assert "2 follow-ups due and not booked" in html and "1 overdue" in html
    assert 'href="/schedule/recalls"' in html


def test_the_front_desk_count_is_kept_until_a_follow_up_or_booking_is_written(
    app, client, login, db
):
    """Counting reads every open follow-up, so the count is kept between views; booking one
    (a write to the tables it reads) brings a fresh count at once."""
    login(Role.FRONT_DESK)
    journey, _ = _journey()
    follow_up = _follow_up(journey, "six weeks", -3, 20)
    _follow_up(journey, "overdue", -30, -2)
    assert "2 follow-ups due and not booked" in client.get("/front-desk").get_data(as_text=True)
    statements: list[str] = []
    engine = _db._app_engines[app][None]

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        html = client.get("/front-desk").get_data(as_text=True)
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert "2 follow-ups due and not booked" in html
    assert statements and not any("window_closes_on" in s for s in statements)
    # the user, the audit row, and the day's figures read with what the kept count depends on
    assert len([s for s in statements if "SAVEPOINT" not in s]) == 3, statements
    assert sum("max(follow_up.updated_at)" in s for s in statements) == 1
    rows, _ = recalls.recall_page(clinic_today(), now=utcnow())
    slot = next(r.slot for r in rows if r.follow_up.id == follow_up.id)
    response = _book_suggested(client, follow_up, slot)
    assert response.status_code == 302
    html = client.get("/front-desk").get_data(as_text=True)
    assert "1 follow-up due and not booked" in html and "1 overdue" in html


def test_clinicians_and_patients_cannot_reach_recalls(client, sign_in_as, db):
    for role in (Role.PROVIDER, Role.CLINICAL_STAFF, Role.PATIENT):
        sign_in_as(role)
        assert client.get("/schedule/recalls").status_code == 403


def test_unknown_filter_is_a_400(client, login, db):
    login(Role.FRONT_DESK)
    assert client.get("/schedule/recalls?show=everything").status_code == 400
    assert client.get("/schedule/recalls?page=0").status_code == 400
    # a patient who does not exist: not found, never everyone's follow-ups instead
    assert client.get("/schedule/recalls?patient=999999").status_code == 404


def _add_follow_ups(journeys_, start: int, stop: int) -> None:
    today = clinic_today()
    rows = []
    for index in range(start, stop):
        journey = journeys_[index % len(journeys_)]
        rows.append(
            dict(
                patient_id=journey.patient_id,
                journey_id=journey.id,
                cycle_id=journey.cycles[0].id,
                label=f"visit {index}",
                window_opens_on=today - timedelta(days=index % 9),
                due_on=today - timedelta(days=index % 9) + timedelta(days=index % 5),
                window_closes_on=today + timedelta(days=index % 5) + timedelta(days=3),
            )
        )
    _db.session.execute(sa.insert(m.FollowUp), rows)
    _db.session.flush()


@pytest.mark.parametrize("page", ["/schedule/recalls", "/front-desk"])
def test_recall_pages_run_the_same_queries_for_10_or_1000_follow_ups(
    client, login, db, count_queries, page
):
    login(Role.FRONT_DESK)
    make_room("Exam Q", RoomKind.EXAM)
    journeys_ = [_journey()[0] for _ in range(4)]
    counts = []
    for start, stop in ((0, 10), (10, 1000)):
        _add_follow_ups(journeys_, start, stop)
        client.get(page)  # warm-up
        with count_queries() as counter:
            response = client.get(page)
        assert response.status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1], counts
    if page == "/schedule/recalls":
        html = response.get_data(as_text=True)
        assert "1000 follow-ups to book (page 1 of 20)" in html
        assert html.count(">Book this slot</button>") == recalls.PAGE_SIZE


def test_board_with_journey_locations_runs_the_same_queries_for_10_or_1000(
    client, login, db, count_queries
):
    """Arrived patients whose stages are in progress: one query for all their locations."""
    from clinic.journeys.states import StageKind

    login(Role.FRONT_DESK)
    lanes = [_journey() for _ in range(3)]
    first, first_provider = lanes[0]
    stages.start_stage(walk.stage_of(first, StageKind.PROCESSING), first_provider)
    day = clinic_today()
    base = datetime.combine(day, time(0, 5), clinic_tz()).astimezone(UTC)
    counts = []
    made = 0
    for total in (10, 1000):
        rows = []
        for index in range(made, total):
            journey, provider = lanes[index % 3]
            start = base + timedelta(minutes=(index // 3) * 4)
            rows.append(
                dict(
                    patient_id=journey.patient_id,
                    provider_id=provider.id,
                    kind=VisitKind.PHONE_CHECK,
                    starts_at=start,
                    ends_at=start + timedelta(minutes=4),
                    status=Status.CHECKED_IN,
                    checked_in_at=start,
                )
            )
        made = total
        db.session.execute(sa.insert(Appointment), rows)
        db.session.flush()
        client.get("/schedule/board/rows")
        with count_queries() as counter:
            html = client.get("/schedule/board/rows").get_data(as_text=True)
        counts.append(counter.count)
    assert counts[0] == counts[1], counts
    assert html.count("Processing (product being prepared)") == 334  # the first lane's rows
    assert html.count("Reached, call to start") == 666  # phone checks: reached, not "arrived"


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "procedure"},
        {"starts_at": "2030-03-04T09:00:00"},  # no time zone
        {"starts_at": "tomorrow"},
        {"provider": "abc"},
    ],
)
def test_one_click_with_tampered_fields_is_a_400_and_books_nothing(client, login, db, change):
    login(Role.FRONT_DESK)
    journey, provider = _journey()
    follow_up = _follow_up(journey, "six weeks", 2, 20)
    start = datetime.combine(clinic_today() + timedelta(days=3), time(9), clinic_tz())
    data = {"kind": "follow_up", "provider": str(provider.id), "starts_at": start.isoformat()}
    response = client.post_form(
        f"/schedule/recalls/{follow_up.id}/book", {**data, **change}, token_from="/schedule/recalls"
    )
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Appointment)) == 0


def test_a_recall_page_is_kept_until_what_it_shows_changes(client, login, db, monkeypatch):
    """A page of recalls is planned once and reused while its follow-ups, appointments,
    journeys, patients and clinicians are unchanged and its suggestions still lie ahead; each
    view's audit row names the patients shown, and each view's forms carry its own token."""
    from clinic.scheduling import recall_rows
    from clinic.scheduling.routes import recalls as recall_routes

    original = recalls.recall_page
    planned = count_calls(monkeypatch, recalls, "recall_page")
    # the page's clock stands still: a page is kept until its earliest suggestion starts, and
    # a quarter hour starting mid-test would end it early (the test failed near one)
    frozen = utcnow()
    monkeypatch.setattr(recall_routes, "utcnow", lambda: frozen)
    login(Role.FRONT_DESK)
    journey, provider = _journey()
    first = _follow_up(journey, "six weeks", 2, 20)

    views: list[int] = []

    def page(*, planned_now: bool) -> str:
        before = len(planned)
        html = _page(client)
        views.append(1)
        assert len(planned) == before + planned_now
        return html

    def kept() -> str:
        """A view that reuses the kept page. A write anywhere in the follow-up, appointment or
        journey tables (the whole test run shares the database) forces one more planning
        first, so a second view settles it."""
        for _attempt in range(3):
            before = len(planned)
            html = _page(client)
            views.append(1)
            if len(planned) == before:
                return html
        raise AssertionError("the page was planned again on every view")

    html = page(planned_now=True)
    assert f'id="recall-{first.id}"' in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html.split('id="recalls"')[1])
    assert token and "\x00" not in html
    assert f'id="recall-{first.id}"' in kept()
    shown = db.session.scalars(
        sa.select(audit_event_patient.c.patient_id)
        .join(AuditEvent, AuditEvent.id == audit_event_patient.c.audit_event_id)
        .where(AuditEvent.action == "recalls.viewed")
    ).all()
    assert shown == [journey.patient_id] * len(views)  # one row per view

    journey.patient.family_name = "Renamed"  # the patient's record edited
    db.session.commit()
    assert "Renamed" in page(planned_now=True)
    second = _follow_up(journey, "three months", 3, 40)  # a follow-up added
    db.session.commit()
    assert f'id="recall-{second.id}"' in page(planned_now=True)
    rows, _ = original(clinic_today(), now=utcnow())
    assert _book_suggested(client, first, rows[0].slot).status_code == 302  # one booked
    html = page(planned_now=True)
    assert f'id="recall-{first.id}"' not in html and f'id="recall-{second.id}"' in html
    provider.full_name = "Dr Rhea Renamed"  # a clinician's name
    db.session.commit()
    assert "Dr Rhea Renamed" in page(planned_now=True)
    kept()
    # time passing: past its earliest suggested time (or PAGE_KEPT_SECONDS) a page is planned anew
    later = utcnow() + timedelta(days=5)
    monkeypatch.setattr(recall_routes, "utcnow", lambda: later)
    page(planned_now=True)
    monkeypatch.setattr(recall_rows.time, "monotonic", lambda: 10.0**9)
    page(planned_now=True)
    # a booking whose transaction committed after a later write (its updated_at below the
    # latest): the listed follow-up's live booking still shows
    kept()
    late = services.book(
        patient=journey.patient,
        provider=provider,
        room=None,
        kind=VisitKind.FOLLOW_UP,
        starts_at=rows[0].slot.starts_at + timedelta(days=1),
        by=None,
        follow_up=second,
    )
    long_ago = datetime(2001, 1, 1, tzinfo=UTC)
    table = Appointment.__table__  # the booking's row only (booking touches nothing else)
    db.session.execute(sa.update(table).where(table.c.id == late.id).values(updated_at=long_ago))
    db.session.commit()
    assert f'id="recall-{second.id}"' not in page(planned_now=True)


def test_a_kept_recall_row_books_with_the_viewers_own_token(client, login, db):
    """Rows kept from one person's view carry the next viewer's form token, and the one-click
    form posted as the page has it books the slot."""
    login(Role.FRONT_DESK)
    journey, _provider = _journey()
    follow_up = _follow_up(journey, "six weeks", 2, 20)
    _page(client)  # kept
    html = _page(client)
    row = html[html.index(f'id="recall-{follow_up.id}"') :]
    form = row[row.index("<form") : row.index("</form>")]
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
    assert fields["csrf_token"] and "\x00" not in fields["csrf_token"]
    action = re.search(r'action="([^"]+)"', form).group(1)
    response = client.post(action, data=fields, headers={"Referer": "https://localhost/"})
    assert response.status_code == 302
    assert db.session.scalar(sa.select(Appointment).where(Appointment.follow_up_id == follow_up.id))
