"""Admins edit the wording as versions; the newest is used from then on, the most specific
(visit kind, therapy) before the general one; placeholders are checked; a stale edit is a 409."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.messaging import services
from clinic.messaging.models import MessageKind, MessageTemplate
from tests.messaging.helpers import outbox, sender, visit

URL = "/messages/templates/reminder_day_before/any/any"
NOON = datetime(2026, 5, 4, 16, 0, tzinfo=UTC)


def _form(**kw):
    return {
        "subject": "See you tomorrow, {first_name}",
        "body": "Your {visit} is on {date} at {time}.\n\n{links}\n\n{opt_out}",
        "sms_body": "{clinic}: {visit} {date} {time}. {link}",
        "based_on": "1",
        **kw,
    }


def test_shipped_wording_exists_for_every_kind(db):
    book = services.TemplateBook()
    for kind in MessageKind:
        procedure_only = kind in (MessageKind.REMINDER_MEDICINE, MessageKind.REMINDER_FASTING)
        assert book.pick(kind, "procedure" if procedure_only else "").subject


def test_an_edit_is_a_new_version_used_for_the_next_messages(app, client, login, db):
    login(Role.ADMIN)
    assert "Reminder: the day before" in client.get("/messages/templates").get_data(as_text=True)
    assert client.get(URL).status_code == 200
    assert client.post_form(URL, _form()).status_code == 302
    versions = services.history(MessageKind.REMINDER_DAY_BEFORE, "", "")
    assert [v.version for v in versions] == [2, 1]
    appt = visit(NOON + timedelta(days=1), booked_at=NOON - timedelta(days=3))
    run = sender(app)
    run.plan(NOON - timedelta(hours=1))
    run.send_due(NOON)
    subjects = [m.subject for m in outbox(appt.patient.email)]
    assert f"See you tomorrow, {appt.patient.given_name}" in subjects


def test_unknown_placeholders_and_stale_edits_are_refused(client, login, db):
    login(Role.ADMIN)
    bad = client.post_form(URL, _form(body="Hello {diagnosis}"))
    assert bad.status_code == 422 and "Unknown placeholder: diagnosis" in bad.get_data(as_text=True)
    text_detail = client.post_form(URL, _form(sms_body="{place} {link}"))
    assert text_detail.status_code == 422  # a text may not name the place (a room) or more
    no_link = client.post_form(URL, _form(sms_body="{clinic}: see you"))
    assert no_link.status_code == 422
    assert client.post_form(URL, _form()).status_code == 302
    stale = client.post_form(URL, _form(subject="Older edit"))  # still based on version 1
    assert stale.status_code == 409
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MessageTemplate).where(
        MessageTemplate.subject == "Older edit")) == 0  # fmt: skip


def test_a_therapy_specific_wording_wins_for_that_therapy(db):
    book = services.TemplateBook()
    assert "PRP" in book.pick(MessageKind.REMINDER_MEDICINE, "procedure", "prp").subject
    assert "PRP" not in book.pick(MessageKind.REMINDER_MEDICINE, "procedure", "bmac").subject
    assert "procedure" in book.pick(MessageKind.CONFIRMATION, "procedure", "").subject
    assert "{visit}" in book.pick(MessageKind.CONFIRMATION, "follow_up", "").subject


def test_settings_pause_switch_and_offsets(client, login, db):
    login(Role.ADMIN)
    page = client.get("/messages/settings")
    assert page.status_code == 200
    form = {
        "paused": "y", "quiet_from_hour": "21", "quiet_until_hour": "7", "send_hour": "9",
        "medicine_days": "10", "fasting_days": "3", "day_before_days": "1", "closing_days": "2",
        "office_hours": "Weekdays 9 to 5", "emergency_advice": "Call 911 in an emergency.",
    }  # fmt: skip
    form["seen"] = re.search(r'name="seen" type="hidden" value="([^"]+)"', page.text)[1]
    assert client.post_form("/messages/settings", form).status_code == 302
    db.session.expire_all()
    rules = services.settings()
    assert rules.paused and rules.medicine_days == 10 and rules.quiet_from_hour == 21
    assert "paused" in client.get("/messages/upcoming").get_data(as_text=True).lower()
    form["seen"] = services.settings_stamp(rules)
    bad = client.post_form("/messages/settings", {**form, "medicine_days": "99"})
    assert bad.status_code == 422


def test_settings_saved_from_an_older_page_do_not_undo_a_pause(client, login, db):
    """One admin pauses sending; another's page, opened before, must not switch it back on."""
    login(Role.ADMIN)
    page = client.get("/messages/settings").get_data(as_text=True)
    seen = re.search(r'name="seen" type="hidden" value="([^"]+)"', page)[1]
    form = {
        "quiet_from_hour": "20", "quiet_until_hour": "8", "send_hour": "10",
        "medicine_days": "7", "fasting_days": "2", "day_before_days": "1", "closing_days": "2",
        "office_hours": "Weekdays 9 to 5", "emergency_advice": "Call 911 in an emergency.",
    }  # fmt: skip
    paused = client.post_form("/messages/settings", {**form, "paused": "y", "seen": seen})
    assert paused.status_code == 302
    stale = client.post_form("/messages/settings", {**form, "send_hour": "9", "seen": seen})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "Someone else saved the message settings after you opened it" in html
    assert "Pause all sending" in html and "<td>yes</td><td>no</td>" in html
    db.session.expire_all()
    rules = services.settings()
    assert rules.paused and rules.send_hour == 10
    fresh = re.search(r'name="seen" type="hidden" value="([^"]+)"', html)[1]
    again = client.post_form(
        "/messages/settings", {**form, "paused": "y", "send_hour": "9", "seen": fresh}
    )
    assert again.status_code == 302
    db.session.expire_all()
    assert services.settings().send_hour == 9 and services.settings().paused


def test_settings_saved_without_saying_which_save_the_page_showed_are_stale(client, login, db):
    """A save that does not say which settings its page showed could switch a colleague's
    pause back off unseen: it is refused as stale and the settings stay."""
    login(Role.ADMIN)
    form = {
        "quiet_from_hour": "20", "quiet_until_hour": "8", "send_hour": "10",
        "medicine_days": "7", "fasting_days": "2", "day_before_days": "1", "closing_days": "2",
        "office_hours": "Weekdays 9 to 5", "emergency_advice": "Call 911 in an emergency.",
    }  # fmt: skip
    before = services.settings_stamp(services.settings())
    for seen in ({}, {"seen": ""}):
        stale = client.post_form("/messages/settings", {**form, **seen})
        assert stale.status_code == 409
        assert "Someone else saved the message settings" in stale.get_data(as_text=True)
    db.session.expire_all()
    assert services.settings_stamp(services.settings()) == before
