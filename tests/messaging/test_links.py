"""Confirm / cancel / reschedule from a message without signing in: the link's rules (one
appointment, once, until it expires), GET shows and POST acts, a cancel frees the slot, and the
front desk sees it on the board and on its list of patients' requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.extensions import db
from clinic.messaging import links
from clinic.messaging.models import AppointmentLink, PatientReply, ReplyKind
from clinic.models.audit import AuditEvent
from clinic.scheduling import services as booking
from clinic.scheduling.models import Status, VisitKind
from clinic.timeutil import to_clinic
from tests.messaging.helpers import patient
from tests.scheduling.factories import make_appointment, make_room

SOON = datetime.now(UTC) + timedelta(days=3)


@pytest.fixture
def appt(db):
    return make_appointment(starts_at=SOON.replace(microsecond=0), patient=patient(),
                            room=make_room("Exam L"))  # fmt: skip


def _url(appt, token: str) -> str:
    return f"/m/visit/{appt.id}/{token}"


def _post(client, url: str, action: str):
    return client.post_form(url, {"action": action}, token_from="/login")


def test_get_shows_the_visit_and_changes_nothing(client, appt):
    token = links.issue(db.session, appt.id, appt.starts_at)
    page = client.get(_url(appt, token))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Follow-up" in html and "Exam L" in html and "Cancel my visit" in html
    db.session.expire_all()
    assert appt.status is Status.BOOKED
    assert db.session.scalar(sa.select(AppointmentLink.used_at)) is None


def test_confirming_marks_the_visit_and_the_link_is_used_up(client, appt):
    token = links.issue(db.session, appt.id, appt.starts_at)
    answer = _post(client, _url(appt, token), "confirm")
    assert answer.status_code == 200 and "confirmed" in answer.get_data(as_text=True)
    reply = db.session.get(PatientReply, appt.id)
    assert reply.reply is ReplyKind.CONFIRMED
    # reused: refused, nothing changes
    again = _post(client, _url(appt, token), "cancel")
    assert again.status_code == 410
    assert client.get(_url(appt, token)).status_code == 410
    db.session.expire_all()
    assert appt.status is Status.BOOKED


def test_the_day_board_marks_a_confirmed_visit(client, appt, login):
    token = links.issue(db.session, appt.id, appt.starts_at)
    _post(client, _url(appt, token), "confirm")
    login(Role.FRONT_DESK)
    board = client.get(f"/schedule/board/rows?date={to_clinic(appt.starts_at).date()}")
    assert "Confirmed by patient" in board.get_data(as_text=True)


def test_cancelling_frees_the_slot_and_tells_the_front_desk(client, appt, login):
    token = links.issue(db.session, appt.id, appt.starts_at)
    answer = _post(client, _url(appt, token), "cancel")
    assert answer.status_code == 200 and "cancelled" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert appt.status is Status.CANCELLED and appt.cancel_reason == links.CANCEL_REASON
    assert db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "appointment.patient_cancelled")
    )
    # the slot is free: the same time can be booked for someone else
    other = booking.book(patient=patient(), provider=appt.provider, room=appt.room,
                         kind=VisitKind.FOLLOW_UP, starts_at=appt.starts_at, by=None)  # fmt: skip
    assert other.id
    login(Role.FRONT_DESK)
    listing = client.get("/messages/requests").get_data(as_text=True)
    assert appt.patient.display_name in listing and "Cancelled by patient" in listing
    board = client.get(f"/schedule/board/rows?date={to_clinic(appt.starts_at).date()}")
    assert "Cancelled by patient" in board.get_data(as_text=True)
    done = client.post_form(
        f"/messages/requests/{appt.id}/handled", {}, token_from="/messages/requests"
    )
    assert done.status_code == 302
    assert appt.patient.display_name not in client.get("/messages/requests").get_data(as_text=True)


def test_a_reschedule_request_keeps_the_visit_and_lands_on_the_queue(client, appt, login):
    token = links.issue(db.session, appt.id, appt.starts_at)
    assert _post(client, _url(appt, token), "reschedule").status_code == 200
    db.session.expire_all()
    assert appt.status is Status.BOOKED
    login(Role.FRONT_DESK)
    listing = client.get("/messages/requests").get_data(as_text=True)
    assert "Patient asks to reschedule" in listing and "Move the visit" in listing


def test_a_link_for_another_appointment_is_refused(client, appt):
    other = make_appointment(starts_at=SOON + timedelta(hours=4), patient=patient())
    token = links.issue(db.session, other.id, other.starts_at)
    assert client.get(_url(appt, token)).status_code == 410
    assert _post(client, _url(appt, token), "cancel").status_code == 410
    db.session.expire_all()
    assert appt.status is Status.BOOKED and other.status is Status.BOOKED


def test_an_expired_link_is_refused(client, appt):
    token = links.issue(db.session, appt.id, appt.starts_at)
    link = db.session.scalar(sa.select(AppointmentLink))
    link.created_at = datetime.now(UTC) - timedelta(days=40)
    link.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.flush()
    assert client.get(_url(appt, token)).status_code == 410
    assert _post(client, _url(appt, token), "confirm").status_code == 410


def test_a_link_ends_when_the_visit_starts(db, appt):
    token = links.issue(db.session, appt.id, appt.starts_at)
    assert links.find(appt.id, token, now=appt.starts_at - timedelta(minutes=1))
    assert links.find(appt.id, token, now=appt.starts_at) is None


def test_an_unknown_token_and_a_cancelled_visit_are_refused(client, appt):
    assert client.get(_url(appt, "not-a-real-token")).status_code == 410
    token = links.issue(db.session, appt.id, appt.starts_at)
    booking.change_status(appt, Status.CANCELLED, by=None, reason="clinic closed")
    db.session.flush()
    assert _post(client, _url(appt, token), "confirm").status_code == 410


def test_only_the_hash_is_stored(db, appt):
    token = links.issue(db.session, appt.id, appt.starts_at)
    stored = db.session.scalar(sa.select(AppointmentLink.token_hash))
    assert token not in stored and len(stored) == 64


def test_a_post_without_the_csrf_token_or_a_known_action_acts_not(client, appt):
    token = links.issue(db.session, appt.id, appt.starts_at)
    assert client.post(_url(appt, token), data={"action": "cancel"}).status_code == 400
    assert _post(client, _url(appt, token), "delete").status_code == 400
    db.session.expire_all()
    assert appt.status is Status.BOOKED
