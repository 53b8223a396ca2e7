"""Channels: the Twilio adapter against a local fake of its API, the signed STOP webhook, the
opt-out link, and the SMS outbox staff read with link secrets hidden."""

from __future__ import annotations

import base64
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from clinic.auth.models import Role
from clinic.messaging import services, transports
from clinic.messaging.models import MessageKind, MessagePreference, SendStatus
from clinic.patients.models import ContactMethod
from tests.messaging.helpers import one, outbox, patient, sender, texts, visit

NY_NOON = datetime(2026, 5, 4, 16, 0, tzinfo=UTC)


class FakeTwilio:
    """Answers POST /2010-04-01/Accounts/<sid>/Messages.json like Twilio, recording requests."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answer = 201
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                fake.requests.append(
                    {"path": self.path, "auth": self.headers.get("Authorization"), "form": form}
                )
                body = json.dumps({"sid": "SM123", "status": "queued"}).encode()
                self.send_response(fake.answer)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def twilio(app, monkeypatch):
    fake = FakeTwilio()
    for key, value in {
        "SMS_TRANSPORT": "twilio",
        "TWILIO_ACCOUNT_SID": "AC0001",
        "TWILIO_AUTH_TOKEN": "secret-token",
        "TWILIO_FROM_NUMBER": "+16175550000",
        "TWILIO_API_BASE": fake.url,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    yield fake
    fake.close()


def _texter_visit(phone: str = "617-555-0199"):
    person = patient(preferred_contact=ContactMethod.TEXT, phone=phone)
    return visit(NY_NOON + timedelta(days=5), booked_at=NY_NOON, who=person)


def test_texts_go_through_the_twilio_api(app, db, twilio):
    appt = _texter_visit()
    run = sender(app)
    run.plan(NY_NOON)
    run.send_due(NY_NOON)
    assert len(twilio.requests) == 1
    sent = twilio.requests[0]
    assert sent["path"] == "/2010-04-01/Accounts/AC0001/Messages.json"
    assert sent["auth"] == "Basic " + base64.b64encode(b"AC0001:secret-token").decode()
    assert sent["form"]["To"] == "617-555-0199" and sent["form"]["From"] == "+16175550000"
    assert f"/m/visit/{appt.id}/" in sent["form"]["Body"]
    message = one(appt, MessageKind.CONFIRMATION)
    assert message.status is SendStatus.SENT and message.body is None
    assert texts("617-555-0199") == []  # not the outbox


def test_a_twilio_outage_is_retried_later_and_a_refusal_is_final(app, db, twilio):
    appt = _texter_visit()
    run = sender(app)
    run.plan(NY_NOON)
    twilio.answer = 503
    run.send_due(NY_NOON)
    message = one(appt, MessageKind.CONFIRMATION)
    assert message.status is SendStatus.PLANNED and "503" in message.note
    assert message.due_at > NY_NOON and message.body  # kept for the retry
    twilio.answer = 201
    run.send_due(message.due_at + timedelta(seconds=1))
    assert one(appt, MessageKind.CONFIRMATION).status is SendStatus.SENT
    assert len(twilio.requests) == 2
    other = _texter_visit("617-555-0188")
    run.plan(NY_NOON)
    twilio.answer = 400
    run.send_due(NY_NOON + timedelta(hours=1))
    refused = one(other, MessageKind.CONFIRMATION)
    assert refused.status is SendStatus.FAILED and "400" in refused.note


def test_a_text_waiting_for_a_retry_fails_cleanly_once_texts_are_turned_off(
    app, db, twilio, monkeypatch
):
    appt = _texter_visit("617-555-0144")
    run = sender(app)
    run.plan(NY_NOON)
    twilio.answer = 503
    run.send_due(NY_NOON)
    waiting = one(appt, MessageKind.CONFIRMATION)
    assert waiting.status is SendStatus.PLANNED and waiting.body  # written, waiting to retry
    monkeypatch.setitem(app.config, "SMS_TRANSPORT", "off")
    run.send_due(waiting.due_at + timedelta(seconds=1))
    failed = one(appt, MessageKind.CONFIRMATION)
    assert failed.status is SendStatus.FAILED
    assert failed.note == "Text messages are turned off at this clinic."
    assert len(twilio.requests) == 1 and texts("617-555-0144") == []


def test_the_adapter_refuses_to_start_without_its_settings(app):
    with pytest.raises(RuntimeError, match="TWILIO_ACCOUNT_SID"):
        transports.TwilioSms("", "", "", "https://api.twilio.com")
    with pytest.raises(RuntimeError, match="http"):
        transports.TwilioSms("a", "b", "c", "file:///etc/passwd")


def _signed_post(client, app, form: dict, token: str = "secret-token"):  # noqa: S107
    base = app.config["PUBLIC_BASE_URL"] or "http://localhost"
    url = base.rstrip("/") + "/messages/sms/inbound"
    signature = transports.twilio_signature(token, url, form)
    return client.post(
        "/messages/sms/inbound", data=form, headers={"X-Twilio-Signature": signature}
    )


def test_a_signed_stop_reply_stops_texts(client, app, db, twilio):
    person = patient(preferred_contact=ContactMethod.TEXT, phone="(617) 555-0177")
    answer = _signed_post(client, app, {"From": "+16175550177", "Body": " stop ", "To": "+1"})
    assert answer.status_code == 200 and answer.mimetype == "application/xml"
    preference = db.session.get(MessagePreference, person.id)
    assert preference.sms_ok is False and preference.email_ok is True
    assert services.choose_channel(person, services.consent_of(person, preference))[0].value == (
        "email"
    )
    _signed_post(client, app, {"From": "+16175550177", "Body": "START", "To": "+1"})
    db.session.expire_all()
    assert db.session.get(MessagePreference, person.id).sms_ok is True


def test_an_unsigned_or_wrongly_signed_reply_is_refused(client, app, db, twilio):
    person = patient(preferred_contact=ContactMethod.TEXT, phone="617-555-0166")
    form = {"From": "+16175550166", "Body": "STOP"}
    assert client.post("/messages/sms/inbound", data=form).status_code == 403
    assert _signed_post(client, app, form, token="not-the-token").status_code == 403
    assert db.session.get(MessagePreference, person.id) is None


def test_the_opt_out_link_asks_then_stops_everything(app, client, db):
    appt = visit(NY_NOON + timedelta(days=5), booked_at=NY_NOON)
    run = sender(app)
    run.plan(NY_NOON)
    run.send_due(NY_NOON)
    body = outbox(appt.patient.email)[0].body
    link = body[body.index("/m/stop/") :].split()[0]
    page = client.get(link)
    assert page.status_code == 200 and "Stop all messages" in page.get_data(as_text=True)
    assert db.session.get(MessagePreference, appt.patient_id) is None  # GET changes nothing
    done = client.post_form(link, {}, token_from="/login")
    assert done.status_code == 200
    assert db.session.get(MessagePreference, appt.patient_id).opted_out_at is not None
    run.send_due(NY_NOON + timedelta(days=4))
    reminder = one(appt, MessageKind.REMINDER_DAY_BEFORE)
    assert reminder.status is SendStatus.SKIPPED and len(outbox(appt.patient.email)) == 1
    assert client.get("/m/stop/forged-token").status_code == 410


def test_staff_read_the_sms_outbox_with_link_secrets_hidden(app, client, db, login):
    appt = _texter_visit("617-555-0155")
    run = sender(app)
    run.plan(NY_NOON)
    run.send_due(NY_NOON)
    token = texts("617-555-0155")[0].body.split(f"/m/visit/{appt.id}/")[1].split()[0]
    login(Role.FRONT_DESK)
    page = client.get("/messages/sms-outbox").get_data(as_text=True)
    assert "617-555-0155" in page and token not in page and "[hidden]" in page


def test_e_mail_through_smtp_goes_to_the_delivery_queue(app, db, monkeypatch):
    from clinic.jobs.models import OutgoingMessage

    monkeypatch.setitem(app.config, "MAIL_TRANSPORT", "smtp")
    appt = visit(NY_NOON + timedelta(days=5), booked_at=NY_NOON)
    run = sender(app)
    run.plan(NY_NOON)
    run.send_due(NY_NOON)
    message = one(appt, MessageKind.CONFIRMATION)
    queued = db.session.get(OutgoingMessage, message.outgoing_message_id)
    assert queued.recipient == appt.patient.email and f"/m/visit/{appt.id}/" in queued.body
