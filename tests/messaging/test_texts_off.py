"""SMS_TRANSPORT=off: the clinic sends no texts. A patient who prefers texts gets e-mail when
they agreed to it, otherwise nothing, with the reason; the worker never writes a text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clinic.auth.models import Role
from clinic.extensions import db
from clinic.messaging import services, transports
from clinic.messaging.models import Channel, MessageKind, MessagePreference, SendStatus
from clinic.patients.models import ContactMethod
from tests.messaging.helpers import one, outbox, patient, sender, texts, visit

NY_NOON = datetime(2026, 5, 4, 16, 0, tzinfo=UTC)
OFF = "Text messages are turned off at this clinic"


@pytest.fixture
def texts_off(app, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_TRANSPORT", "off")


def _texter(email="texter@mail.example.com", phone="617-555-0131", **consent):
    """A patient who prefers texts (with no recorded consent: e-mail and texts agreed)."""
    person = patient(preferred_contact=ContactMethod.TEXT, phone=phone, email=email)
    if consent:
        db.session.add(MessagePreference(patient_id=person.id, **consent))
        db.session.flush()
    return person


def _channel(person):
    consent = services.consent_of(person, db.session.get(MessagePreference, person.id))
    return services.choose_channel(person, consent)


def test_the_off_transport_fails_every_text_for_good(app, texts_off):
    with app.app_context():
        transport = transports.sms_transport()
    with pytest.raises(transports.SmsFailure) as failed:
        transport.send(None, "617-555-0131", "Your visit is on Monday.")
    assert failed.value.permanent is True
    assert str(failed.value) == "Text messages are turned off at this clinic."


def test_an_unknown_sms_transport_still_raises(app, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_TRANSPORT", "pigeon")
    with app.app_context(), pytest.raises(RuntimeError, match="unknown SMS_TRANSPORT 'pigeon'"):
        transports.sms_transport()


def test_a_patient_preferring_texts_gets_e_mail_when_texts_are_off(app, db, texts_off):
    person = _texter()
    assert _channel(person) == (Channel.EMAIL, "")


def test_a_patient_preferring_texts_without_e_mail_gets_nothing_and_the_reason(
    app, db, monkeypatch
):
    person = _texter(email=None)
    assert _channel(person) == (Channel.SMS, "")  # texts on: a text would go
    monkeypatch.setitem(app.config, "SMS_TRANSPORT", "off")
    channel, why = _channel(person)
    assert channel is None and why.startswith(OFF)


def test_texts_off_leaves_the_other_reasons_as_they_were(app, db, texts_off):
    # texts were not the only way left: the reason is not about texts being off
    no_phone = _texter(email=None, phone=None)
    assert _channel(no_phone)[1].startswith("No address or phone number")
    caller = patient(preferred_contact=ContactMethod.PHONE, phone="617-555-0132", email=None)
    assert _channel(caller)[1].startswith("No address or phone number")
    refused = _texter(email_ok=False, sms_ok=False)
    assert _channel(refused) == (None, "The patient has not agreed to messages.")
    # a patient preferring e-mail, without an address, agreeing to texts: texts were left
    emailer = patient(preferred_contact=ContactMethod.EMAIL, phone="617-555-0133", email=None)
    db.session.add(MessagePreference(patient_id=emailer.id, email_ok=True, sms_ok=True))
    db.session.flush()
    assert _channel(emailer)[1].startswith(OFF)


def test_the_worker_sends_e_mail_instead_of_a_text_or_skips_with_the_reason(app, db, texts_off):
    with_email = _texter(phone="617-555-0134")
    without_email = _texter(email=None, phone="617-555-0135")
    by_email = visit(NY_NOON + timedelta(days=5), booked_at=NY_NOON, who=with_email)
    skipped = visit(NY_NOON + timedelta(days=5, hours=1), booked_at=NY_NOON, who=without_email)
    run = sender(app)
    run.plan(NY_NOON)
    run.send_due(NY_NOON)
    sent = one(by_email, MessageKind.CONFIRMATION)
    assert sent.status is SendStatus.SENT and sent.channel is Channel.EMAIL
    assert len(outbox(with_email.email)) == 1 and texts("617-555-0134") == []
    nothing = one(skipped, MessageKind.CONFIRMATION)
    assert nothing.status is SendStatus.SKIPPED and nothing.note.startswith(OFF)
    assert texts("617-555-0135") == []


def test_the_staff_page_says_texts_are_off(app, client, login, db, texts_off):
    by_email = _texter(phone="617-555-0136")
    nothing = _texter(email=None, phone="617-555-0137")
    login(Role.FRONT_DESK)
    page = client.get(f"/messages/patients/{by_email.id}").get_data(as_text=True)
    assert "<strong>E-mail</strong>" in page and 'id="texts-off"' in page
    page = client.get(f"/messages/patients/{nothing.id}").get_data(as_text=True)
    assert "<strong>nothing</strong>. " + OFF in page
    assert 'id="texts-off"' not in page  # said once


@pytest.mark.parametrize("transport", ["off", "twilio"])
def test_the_sms_outbox_page_exists_only_for_the_outbox(client, login, db, app, monkeypatch,
                                                         transport):  # fmt: skip
    login(Role.FRONT_DESK)
    assert client.get("/messages/sms-outbox").status_code == 200
    monkeypatch.setitem(app.config, "SMS_TRANSPORT", transport)
    assert client.get("/messages/sms-outbox").status_code == 404
