"""When each message goes out: reminders at their offsets in the clinic's zone across
daylight-saving changes, quiet hours, moved and cancelled visits, opt-out, the pause switch,
questionnaire nudges and recalls. The scheduler and the sender run as the worker runs them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from clinic.auth.models import Role
from clinic.messaging import scheduler, services
from clinic.messaging.models import MessageKind, MessagePreference, SendStatus
from clinic.outcomes.services import assign
from clinic.outcomes.states import ResponseStatus
from clinic.patients.models import ContactMethod, Patient
from clinic.scheduling import services as booking
from clinic.scheduling.models import Status, VisitKind
from tests.factories import make_user
from tests.messaging.helpers import (
    PLANNED,
    SENT,
    SKIPPED,
    follow_up_due,
    messages,
    one,
    outbox,
    patient,
    sender,
    texts,
    visit,
)
from tests.scheduling.factories import make_room

K = MessageKind
NY = ZoneInfo("America/New_York")


def ny(*args) -> datetime:
    return datetime(*args, tzinfo=NY).astimezone(UTC)


@pytest.fixture
def rules(db):
    return services.settings()


# --- pure timing ------------------------------------------------------------------------------


def test_reminders_keep_the_local_hour_across_the_spring_change(rules):
    # DST starts in New York on Sunday 8 March 2026 at 02:00.
    starts = ny(2026, 3, 9, 11, 0)  # Monday 11:00 EDT
    day_before = scheduler.ReminderRule(K.REMINDER_DAY_BEFORE, 1, False)
    week = scheduler.ReminderRule(K.REMINDER_MEDICINE, 7, True)
    now = ny(2026, 2, 20, 12, 0)
    assert scheduler.reminder_due(starts, day_before, rules, NY, now) == datetime(
        2026, 3, 8, 14, 0, tzinfo=UTC
    )  # 10:00 EDT (UTC-4)
    assert scheduler.reminder_due(starts, week, rules, NY, now) == datetime(
        2026, 3, 2, 15, 0, tzinfo=UTC
    )  # 10:00 EST (UTC-5)


def test_reminders_keep_the_local_hour_across_the_autumn_change(rules):
    # DST ends in New York on Sunday 1 November 2026 at 02:00.
    starts = ny(2026, 11, 2, 9, 0)
    day_before = scheduler.ReminderRule(K.REMINDER_DAY_BEFORE, 1, False)
    fasting = scheduler.ReminderRule(K.REMINDER_FASTING, 2, True)
    now = ny(2026, 10, 20, 12, 0)
    assert scheduler.reminder_due(starts, day_before, rules, NY, now) == datetime(
        2026, 11, 1, 15, 0, tzinfo=UTC
    )  # 10:00 EST
    assert scheduler.reminder_due(starts, fasting, rules, NY, now) == datetime(
        2026, 10, 31, 14, 0, tzinfo=UTC
    )  # 10:00 EDT


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ((2026, 5, 5, 7, 59), (2026, 5, 5, 8, 0)),  # a minute before the quiet hours end
        ((2026, 5, 5, 8, 0), (2026, 5, 5, 8, 0)),  # the moment they end: sent at once
        ((2026, 5, 5, 19, 59), (2026, 5, 5, 19, 59)),  # last minute before they start
        ((2026, 5, 5, 20, 0), (2026, 5, 6, 8, 0)),  # they start: the next morning
        ((2026, 5, 5, 23, 30), (2026, 5, 6, 8, 0)),
        ((2026, 3, 8, 1, 30), (2026, 3, 8, 8, 0)),  # the night the clocks go forward
        ((2026, 10, 31, 22, 0), (2026, 11, 1, 8, 0)),  # the night they go back
    ],
)
def test_quiet_hours_hold_messages_until_morning(rules, local, expected):
    assert scheduler.outside_quiet_hours(ny(*local), rules, NY) == ny(*expected)


def test_quiet_hours_follow_the_clinic_zone(rules):
    london = ZoneInfo("Europe/London")
    at = datetime(2026, 6, 1, 21, 0, tzinfo=UTC)  # 22:00 in London (BST), 17:00 in New York
    assert scheduler.in_quiet_hours(at, rules, london)
    assert not scheduler.in_quiet_hours(at, rules, NY)


def test_a_reminder_whose_day_has_passed_is_not_planned(rules):
    starts = ny(2026, 5, 10, 9, 0)
    week = scheduler.ReminderRule(K.REMINDER_MEDICINE, 7, True)
    day_before = scheduler.ReminderRule(K.REMINDER_DAY_BEFORE, 1, False)
    booked_late = ny(2026, 5, 6, 12, 0)  # four days ahead: the week reminder's day is gone
    assert scheduler.reminder_due(starts, week, rules, NY, booked_late) is None
    # booked the evening before: the day-before reminder waits for the morning, which is
    # still before the visit
    evening = ny(2026, 5, 9, 21, 0)
    assert scheduler.reminder_due(starts, day_before, rules, NY, evening) == ny(2026, 5, 10, 8, 0)
    late_night_for_early_visit = ny(2026, 5, 9, 21, 0)
    early = ny(2026, 5, 10, 7, 30)
    assert scheduler.reminder_due(early, day_before, rules, NY, late_night_for_early_visit) is None


# --- planning and sending ---------------------------------------------------------------------


def test_a_procedure_gets_confirmation_and_three_reminders_once_each(app, db):
    now = ny(2026, 5, 1, 12, 0)
    appt = visit(ny(2026, 5, 12, 9, 0), booked_at=now, kind=VisitKind.PROCEDURE,
                 room=make_room("Proc 1"))  # fmt: skip
    run = sender(app)
    run.plan(now)
    # reminders are planned once the visit is within the planning horizon (9 days here)
    assert {m.kind for m in messages(appt)} == {K.CONFIRMATION}
    run.plan(ny(2026, 5, 4, 12, 0))
    run.plan(ny(2026, 5, 4, 12, 1))  # a second pass adds nothing
    planned = {m.kind: m for m in messages(appt)}
    assert set(planned) == {K.CONFIRMATION, K.REMINDER_MEDICINE, K.REMINDER_FASTING,
                            K.REMINDER_DAY_BEFORE}  # fmt: skip
    assert planned[K.CONFIRMATION].due_at == now
    assert planned[K.REMINDER_MEDICINE].due_at == ny(2026, 5, 5, 10, 0)
    assert planned[K.REMINDER_FASTING].due_at == ny(2026, 5, 10, 10, 0)
    assert planned[K.REMINDER_DAY_BEFORE].due_at == ny(2026, 5, 11, 10, 0)

    assert run.send_due(now) == 1
    mail = outbox(appt.patient.email)
    assert len(mail) == 1 and "procedure" in mail[0].subject.lower()
    assert "Tuesday 12 May 2026" in mail[0].body and "9:00 am" in mail[0].body
    assert f"/m/visit/{appt.id}/" in mail[0].body and "/m/stop/" in mail[0].body
    assert "driver" in mail[0].body.lower() or "drive you home" in mail[0].body
    # the week reminder goes at 10:00 on the 5th, not a minute earlier, and only once
    assert run.send_due(ny(2026, 5, 5, 9, 59)) == 0
    assert run.send_due(ny(2026, 5, 5, 10, 0)) == 1
    assert run.send_due(ny(2026, 5, 5, 10, 5)) == 0
    assert one(appt, K.REMINDER_MEDICINE).status is SENT
    assert len(outbox(appt.patient.email)) == 2


def test_a_follow_up_visit_gets_only_the_day_before_reminder(app, db):
    now = ny(2026, 5, 5, 12, 0)
    appt = visit(ny(2026, 5, 12, 9, 0), booked_at=now)
    sender(app).plan(now)
    assert {m.kind for m in messages(appt)} == {K.CONFIRMATION, K.REMINDER_DAY_BEFORE}


def test_a_booking_made_at_night_is_confirmed_in_the_morning(app, db):
    night = ny(2026, 5, 1, 23, 10)
    appt = visit(ny(2026, 5, 20, 9, 0), booked_at=night)
    run = sender(app)
    run.plan(night)
    assert one(appt, K.CONFIRMATION).due_at == ny(2026, 5, 2, 8, 0)
    assert run.send_due(ny(2026, 5, 2, 7, 59)) == 0
    assert run.send_due(ny(2026, 5, 2, 8, 0)) == 1


def test_a_message_claimed_during_quiet_hours_waits(app, db):
    """A worker that was down and catches up at night does not send until morning."""
    now = ny(2026, 5, 1, 12, 0)
    appt = visit(ny(2026, 5, 20, 9, 0), booked_at=now)
    run = sender(app)
    run.plan(now)
    assert run.send_due(ny(2026, 5, 1, 22, 0)) == 1  # handled: put back until 08:00
    message = one(appt, K.CONFIRMATION)
    assert message.status is PLANNED and message.due_at == ny(2026, 5, 2, 8, 0)
    assert outbox(appt.patient.email) == []


def test_a_cancelled_visit_sends_nothing_more(app, db):
    now = ny(2026, 5, 5, 12, 0)
    appt = visit(ny(2026, 5, 12, 9, 0), booked_at=now)
    run = sender(app)
    run.plan(now)
    run.send_due(now)
    booking.change_status(appt, Status.CANCELLED, by=None, reason="patient called")
    db.session.flush()
    # the reminder is dropped by the sender even before the next planning pass …
    assert run.send_due(ny(2026, 5, 11, 10, 0)) == 1
    reminder = one(appt, K.REMINDER_DAY_BEFORE)
    assert reminder.status is SKIPPED and "cancelled" in reminder.note
    assert len(outbox(appt.patient.email)) == 1  # only the confirmation


def test_planning_drops_the_messages_of_a_cancelled_visit(app, db):
    now = ny(2026, 5, 5, 12, 0)
    appt = visit(ny(2026, 5, 12, 9, 0), booked_at=now)
    run = sender(app)
    run.plan(now)
    booking.change_status(appt, Status.CANCELLED, by=None, reason="patient called")
    db.session.flush()
    run.plan(now + timedelta(minutes=1))
    assert all(m.status is SKIPPED for m in messages(appt))
    assert run.send_due(ny(2026, 5, 11, 10, 0)) == 0


def test_a_moved_visit_sends_a_change_notice_and_reminds_of_the_new_time_only(app, db):
    now = ny(2026, 5, 5, 12, 0)
    first = visit(ny(2026, 5, 12, 9, 0), booked_at=now, room=make_room("Exam 9"))
    run = sender(app)
    run.plan(now)
    run.send_due(now)
    later = now + timedelta(hours=1)
    moved = booking.reschedule(
        first, provider=first.provider, room=first.room, starts_at=ny(2026, 5, 13, 15, 0),
        ends_at=ny(2026, 5, 13, 15, 30), notes=None, by=None,
    )  # fmt: skip
    moved.created_at = later
    db.session.flush()
    run.plan(later)
    assert one(first, K.REMINDER_DAY_BEFORE).status is SKIPPED
    assert {m.kind for m in messages(moved)} == {K.CHANGE_NOTICE, K.REMINDER_DAY_BEFORE}
    assert run.send_due(later) == 1
    notice = outbox(first.patient.email)[-1]
    assert "moved" in notice.subject
    assert "Wednesday 13 May 2026 at 3:00 pm" in notice.body
    assert "Tuesday 12 May 2026 at 9:00 am" in notice.body  # what it was
    run.send_due(ny(2026, 5, 11, 10, 0))  # the old day-before time: nothing
    assert len(outbox(first.patient.email)) == 2
    run.send_due(ny(2026, 5, 12, 10, 0))
    assert one(moved, K.REMINDER_DAY_BEFORE).status is SENT


def test_an_opted_out_patient_is_sent_nothing(app, db):
    now = ny(2026, 5, 1, 12, 0)
    appt = visit(ny(2026, 5, 12, 9, 0), booked_at=now)
    services.opt_out(db.session, appt.patient_id, "link in a message")
    run = sender(app)
    run.plan(now)
    run.send_due(now)
    message = one(appt, K.CONFIRMATION)
    assert message.status is SKIPPED and "opted out" in message.note
    assert outbox(appt.patient.email) == []


def test_no_consent_and_no_address_are_skipped_with_the_reason(app, db):
    now = ny(2026, 5, 1, 12, 0)
    no_address = visit(ny(2026, 5, 12, 9, 0), booked_at=now, who=patient(email=None))
    refused = visit(ny(2026, 5, 12, 10, 0), booked_at=now)
    db.session.add(MessagePreference(patient_id=refused.patient_id, email_ok=False, sms_ok=False))
    db.session.flush()
    run = sender(app)
    run.plan(now)
    run.send_due(now)
    assert "No address" in one(no_address, K.CONFIRMATION).note
    assert "not agreed" in one(refused, K.CONFIRMATION).note


def test_texts_carry_no_clinical_detail_unless_allowed(app, db):
    now = ny(2026, 5, 3, 12, 0)
    texter = patient(preferred_contact=ContactMethod.TEXT, phone="617-555-0142")
    appt = visit(ny(2026, 5, 12, 9, 0), booked_at=now, kind=VisitKind.PROCEDURE, who=texter,
                 room=make_room("Proc 2"))  # fmt: skip
    run = sender(app)
    run.plan(now)
    run.send_due(now)
    sms = texts("617-555-0142")
    assert len(sms) == 1 and outbox(texter.email) == []
    assert "procedure" not in sms[0].body.lower() and "appointment" in sms[0].body
    assert f"/m/visit/{appt.id}/" in sms[0].body and "STOP" in sms[0].body
    services.set_preference(texter, email_ok=True, sms_ok=True, sms_detail_ok=True,
                            by=make_user(Role.FRONT_DESK))  # fmt: skip
    run.send_due(ny(2026, 5, 5, 10, 0))
    assert "procedure" in texts("617-555-0142")[-1].body


def test_a_patient_preferring_calls_gets_e_mail_but_never_unasked_texts(app, db):
    now = ny(2026, 5, 1, 12, 0)
    caller = patient(preferred_contact=ContactMethod.PHONE, phone="617-555-0150")
    db.session.add(MessagePreference(patient_id=caller.id, email_ok=False, sms_ok=True))
    db.session.flush()
    appt = visit(ny(2026, 5, 12, 9, 0), booked_at=now, who=caller)
    run = sender(app)
    run.plan(now)
    run.send_due(now)
    assert one(appt, K.CONFIRMATION).status is SKIPPED and texts("617-555-0150") == []


def test_nothing_goes_out_while_sending_is_paused(app, db):
    now = ny(2026, 5, 1, 12, 0)
    appt = visit(ny(2026, 5, 12, 9, 0), booked_at=now)
    services.settings().paused = True
    db.session.flush()
    run = sender(app)
    run.plan(now)
    assert run.send_due(now) == 0
    assert one(appt, K.CONFIRMATION).status is PLANNED  # planned: staff see what will go
    services.settings().paused = False
    db.session.flush()
    assert run.send_due(now + timedelta(minutes=5)) == 1


def test_a_visit_that_has_started_is_not_reminded(app, db):
    now = ny(2026, 5, 1, 12, 0)
    appt = visit(ny(2026, 5, 2, 9, 0), booked_at=now)
    services.settings().paused = True
    db.session.flush()
    sender(app).plan(now)
    services.settings().paused = False
    db.session.flush()
    sender(app).send_due(ny(2026, 5, 2, 9, 30))
    assert {m.status for m in messages(appt)} == {SKIPPED}


# --- questionnaires and recalls ---------------------------------------------------------------


def test_questionnaire_nudges_when_a_set_opens_and_before_it_closes(app, db):
    person = patient()
    opens = date(2026, 5, 4)
    responses = assign(person, ["nrs_pain", "odi"], timepoint="6w", available_from=opens,
                       due_by=date(2026, 5, 14), by=None)  # fmt: skip
    run = sender(app)
    run.plan(ny(2026, 5, 4, 6, 0))
    opened = messages(kind=K.QUESTIONNAIRE_OPEN)
    assert len(opened) == 1 and opened[0].due_at == ny(2026, 5, 4, 10, 0)
    run.send_due(ny(2026, 5, 4, 10, 0))
    mail = outbox(person.email)
    assert len(mail) == 1 and "/my/questionnaires" in mail[0].body and "14 May" in mail[0].body
    run.plan(ny(2026, 5, 11, 9, 0))
    assert messages(kind=K.QUESTIONNAIRE_CLOSING) == []  # closes in 3 days: not yet
    run.plan(ny(2026, 5, 12, 9, 0))
    closing = messages(kind=K.QUESTIONNAIRE_CLOSING)
    assert len(closing) == 1 and closing[0].due_at == ny(2026, 5, 12, 10, 0)
    run.plan(ny(2026, 5, 13, 9, 0))  # once only
    assert len(messages(kind=K.QUESTIONNAIRE_CLOSING)) == 1
    # answered meanwhile: the closing nudge is not sent
    for response in responses:
        response.status = ResponseStatus.VOIDED
    db.session.flush()
    run.send_due(ny(2026, 5, 12, 10, 0))
    assert messages(kind=K.QUESTIONNAIRE_CLOSING)[0].status is SKIPPED
    assert len(outbox(person.email)) == 1


def test_a_follow_up_due_and_not_booked_gets_one_recall(app, db):
    follow_up_due(date(2026, 5, 4), "recall@mail.example.com")
    run = sender(app)
    run.plan(ny(2026, 5, 3, 12, 0))
    assert messages(kind=K.RECALL) == []  # not due yet
    run.plan(ny(2026, 5, 4, 12, 0))
    run.plan(ny(2026, 5, 5, 12, 0))
    recall = messages(kind=K.RECALL)
    assert len(recall) == 1
    run.send_due(ny(2026, 5, 5, 12, 0))
    assert "follow-up" in outbox("recall@mail.example.com")[0].body


def test_a_recall_is_dropped_once_the_follow_up_is_booked(app, db):
    follow_up = follow_up_due(date(2026, 5, 4), "booked@mail.example.com")
    run = sender(app)
    run.plan(ny(2026, 5, 4, 6, 0))
    appt = visit(ny(2026, 5, 20, 9, 0), booked_at=ny(2026, 5, 4, 7, 0),
                 who=db.session.get(Patient, follow_up.patient_id))  # fmt: skip
    appt.follow_up_id = follow_up.id
    db.session.flush()
    run.send_due(ny(2026, 5, 4, 10, 0))
    assert messages(kind=K.RECALL)[0].status is SendStatus.SKIPPED


def test_a_message_that_cannot_be_written_fails_without_blocking_the_rest(app, db):
    now = ny(2026, 5, 5, 12, 0)
    procedure = visit(ny(2026, 5, 12, 9, 0), booked_at=now, kind=VisitKind.PROCEDURE,
                      room=make_room("Proc 9"))  # fmt: skip
    other = visit(ny(2026, 5, 12, 11, 0), booked_at=now)
    run = sender(app)
    run.plan(now)
    # the clinic's only wording for the medicine reminder is removed
    from clinic.messaging.models import MessageTemplate

    db.session.execute(
        MessageTemplate.__table__.delete().where(MessageTemplate.kind == K.REMINDER_MEDICINE)
    )
    db.session.flush()
    run.send_due(ny(2026, 5, 5, 12, 30))
    assert one(procedure, K.REMINDER_MEDICINE).status is SendStatus.FAILED
    assert one(other, K.CONFIRMATION).status is SENT
