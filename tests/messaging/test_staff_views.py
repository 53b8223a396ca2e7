"""Staff views: a patient's messages with their delivery status and consent, and what goes out
on a given day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from clinic.auth.models import Role
from clinic.messaging.models import MessagePreference
from clinic.timeutil import to_clinic
from tests.messaging.helpers import patient, sender, visit

NOW = datetime(2026, 5, 4, 16, 0, tzinfo=UTC)


def test_a_patients_messages_and_their_status(app, client, login, db):
    appt = visit(NOW + timedelta(days=3), booked_at=NOW)
    run = sender(app)
    run.plan(NOW)
    run.send_due(NOW)
    login(Role.FRONT_DESK)
    page = client.get(f"/messages/patients/{appt.patient_id}").get_data(as_text=True)
    assert "Booking confirmation" in page and "Sent" in page and "E-mail" in page
    assert "Reminder: the day before a visit" in page and "Planned" in page
    answer = client.post_form(
        f"/messages/patients/{appt.patient_id}/consent",
        {"email_ok": "", "sms_ok": "y"},
        token_from=f"/messages/patients/{appt.patient_id}",
    )
    assert answer.status_code == 302
    preference = db.session.get(MessagePreference, appt.patient_id)
    assert preference.email_ok is False and preference.sms_ok is True


def test_what_goes_out_on_a_day(app, client, login, db):
    appt = visit(NOW + timedelta(days=3), booked_at=NOW, who=patient(family_name="Tomorrowsky"))
    sender(app).plan(NOW)
    day = to_clinic(NOW + timedelta(days=2)).date()
    login(Role.FRONT_DESK)
    page = client.get(f"/messages/upcoming?date={day.isoformat()}").get_data(as_text=True)
    assert "Tomorrowsky" in page and "Reminder: the day before a visit" in page
    other_day = client.get(f"/messages/upcoming?date={(day + timedelta(days=5)).isoformat()}")
    assert "Tomorrowsky" not in other_day.get_data(as_text=True)
    assert appt.id
