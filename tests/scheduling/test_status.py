"""The appointment status machine: every transition, who may make it, and its audit trail."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.errors import Refused
from clinic.models.audit import AuditEvent
from clinic.scheduling import services
from clinic.scheduling.models import Appointment, Status
from clinic.scheduling.states import TRANSITIONS
from tests.scheduling.conftest import MONDAY_10AM
from tests.scheduling.factories import make_appointment

ALLOWED = {
    (Status.BOOKED, Status.CHECKED_IN),
    (Status.BOOKED, Status.NO_SHOW),
    (Status.BOOKED, Status.CANCELLED),
    (Status.CHECKED_IN, Status.IN_PROGRESS),
    (Status.CHECKED_IN, Status.CANCELLED),
    (Status.IN_PROGRESS, Status.COMPLETED),
}
DURING_VISIT = MONDAY_10AM + timedelta(minutes=5)


@pytest.mark.parametrize("current", list(Status), ids=lambda s: s.value)
@pytest.mark.parametrize("target", list(Status), ids=lambda s: s.value)
def test_transition_table(db, current, target):
    appt = make_appointment(status=current)
    allowed = (current, target) in ALLOWED
    assert (target in TRANSITIONS[current]) is allowed
    if allowed:
        services.change_status(appt, target, by=None, reason="Clinic closed", now=DURING_VISIT)
        assert appt.status is target
    else:
        with pytest.raises(Refused):
            services.change_status(appt, target, by=None, reason="x", now=DURING_VISIT)
        assert appt.status is current


def test_check_in_stamps_the_time_and_every_change_is_audited(db):
    appt = make_appointment()
    for target in (Status.CHECKED_IN, Status.IN_PROGRESS, Status.COMPLETED):
        services.change_status(appt, target, by=None, now=DURING_VISIT)
    assert appt.checked_in_at == DURING_VISIT
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.object_id == str(appt.id))
    ).all()
    assert actions == ["appointment.checked_in", "appointment.in_progress", "appointment.completed"]


def test_cancelling_needs_a_reason(db):
    appt = make_appointment()
    with pytest.raises(Refused, match="reason"):
        services.change_status(appt, Status.CANCELLED, by=None, reason="  ")


def test_check_in_is_on_the_day_and_no_show_after_the_start(db):
    appt = make_appointment(starts_at=MONDAY_10AM)
    with pytest.raises(Refused, match="day of their appointment"):
        services.change_status(
            appt, Status.CHECKED_IN, by=None, now=MONDAY_10AM - timedelta(days=1)
        )
    with pytest.raises(Refused, match="once the appointment time"):
        services.change_status(
            appt, Status.NO_SHOW, by=None, now=MONDAY_10AM - timedelta(minutes=1)
        )


def _status_post(client, appt, target, next_url="/schedule/board"):
    page = f"/schedule/appointments/{appt.id}"
    return client.post_form(
        f"{page}/status",
        {"target": target, "version": str(appt.version), "next": next_url},
        token_from=page,
    )


def test_front_desk_checks_in_from_the_board(client, login, db, monkeypatch):
    login(Role.FRONT_DESK)
    appt = make_appointment()
    monkeypatch.setattr("clinic.scheduling.services.utcnow", lambda: DURING_VISIT)
    response = _status_post(client, appt, "checked_in")
    assert response.status_code == 302 and response.headers["Location"] == "/schedule/board"
    db.session.expire_all()
    assert db.session.get(Appointment, appt.id).status is Status.CHECKED_IN


def test_a_stale_or_repeated_action_changes_nothing_and_says_so(client, login, db, monkeypatch):
    login(Role.FRONT_DESK)
    appt = make_appointment()
    monkeypatch.setattr("clinic.scheduling.services.utcnow", lambda: DURING_VISIT)
    stale_version = appt.version
    assert _status_post(client, appt, "checked_in").status_code == 302
    appt.version = stale_version  # the page the second click came from
    again = _status_post(client, appt, "no_show")
    assert again.status_code == 302
    page = client.get("/schedule/board").get_data(as_text=True)
    assert "had changed meanwhile" in page
    db.session.expire_all()
    assert db.session.get(Appointment, appt.id).status is Status.CHECKED_IN


def test_next_only_goes_to_schedule_pages(client, login, db, monkeypatch):
    login(Role.FRONT_DESK)
    appt = make_appointment()
    monkeypatch.setattr("clinic.scheduling.services.utcnow", lambda: DURING_VISIT)
    response = _status_post(client, appt, "checked_in", next_url="https://evil.example.com/")
    assert response.headers["Location"] == f"/schedule/appointments/{appt.id}"


def test_clinicians_start_and_complete_but_do_not_check_in(client, login, db, monkeypatch):
    login(Role.PROVIDER)
    appt = make_appointment()
    monkeypatch.setattr("clinic.scheduling.services.utcnow", lambda: DURING_VISIT)
    assert _status_post(client, appt, "checked_in").status_code == 403
    services.change_status(appt, Status.CHECKED_IN, by=None, now=DURING_VISIT)
    db.session.flush()
    assert _status_post(client, appt, "in_progress").status_code == 302
    db.session.expire_all()
    assert db.session.get(Appointment, appt.id).status is Status.IN_PROGRESS


def test_cancel_form_requires_a_reason_beside_the_field(client, login, db):
    login(Role.FRONT_DESK)
    appt = make_appointment()
    page = f"/schedule/appointments/{appt.id}"
    response = client.post_form(
        f"{page}/cancel", {"reason": "", "version": str(appt.version)}, token_from=page
    )
    assert response.status_code == 422
    assert 'id="reason-error"' in response.get_data(as_text=True)
    done = client.post_form(
        f"{page}/cancel",
        {"reason": "Patient has flu", "version": str(appt.version)},
        token_from=page,
    )
    assert done.status_code == 302
    db.session.expire_all()
    cancelled = db.session.get(Appointment, appt.id)
    assert cancelled.status is Status.CANCELLED and cancelled.cancel_reason == "Patient has flu"


def test_unknown_status_is_a_400(client, login, db):
    login(Role.FRONT_DESK)
    appt = make_appointment()
    assert _status_post(client, appt, "teleported").status_code == 400


def test_buttons_offer_only_what_fits_the_moment(client, login, db, monkeypatch):
    login(Role.FRONT_DESK)
    appt = make_appointment()
    page = f"/schedule/appointments/{appt.id}"
    monkeypatch.setattr(
        "clinic.scheduling.services.utcnow", lambda: MONDAY_10AM - timedelta(days=1)
    )
    early = client.get(page).get_data(as_text=True)
    assert (
        ">Check in<" not in early and ">No-show<" not in early and "Move to another time" in early
    )
    monkeypatch.setattr(
        "clinic.scheduling.services.utcnow", lambda: MONDAY_10AM - timedelta(hours=1)
    )
    morning = client.get(page).get_data(as_text=True)
    assert ">Check in<" in morning and ">No-show<" not in morning
    monkeypatch.setattr("clinic.scheduling.services.utcnow", lambda: DURING_VISIT)
    late = client.get(page).get_data(as_text=True)
    assert ">Check in<" in late and ">No-show<" in late
