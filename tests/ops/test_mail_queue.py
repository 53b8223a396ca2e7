"""E-mail through the queue: written in the request's transaction, delivered by a worker to a
real SMTP server (aiosmtpd), retried with backoff while the server is down, failures shown to
admins with a retry button; staff and patients get clear answers whatever the mail server does."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.jobs import queue
from clinic.jobs.models import MessageStatus, OutgoingMessage
from clinic.jobs.worker import PermanentFailure, Worker
from clinic.models.audit import AuditEvent
from clinic.models.base import utcnow
from clinic.portal.models import PortalLink
from tests import factories
from tests.factories import PatientFactory
from tests.ops.smtp import PrivateSmtp

LINK = re.compile(r"https?://[^/\s]+/portal/link/[\w-]+")


@pytest.fixture
def smtp():
    server = PrivateSmtp().start()
    yield server
    server.stop()


@pytest.fixture
def mail_via(app, monkeypatch):
    """mail_via(server, mode): send this app's e-mail through the queue to `server`."""

    def _configure(server: PrivateSmtp, mode: str = "inline") -> None:
        for key, value in {**server.settings(), "JOBS_MODE": mode}.items():
            monkeypatch.setitem(app.config, key, value)

    return _configure


@pytest.fixture
def patient(db):
    return PatientFactory(given_name="Ada", family_name="Quinn", email="ada.q@x.example.com")


def _invite(client, patient):
    page = f"/portal-access/{patient.id}"
    return client.post_form(f"{page}/invite", {"email": patient.email}, token_from=page)


def _messages(db) -> list[OutgoingMessage]:
    db.session.expire_all()
    return db.session.scalars(sa.select(OutgoingMessage).order_by(OutgoingMessage.id)).all()


def _links(db, patient) -> int:
    return db.session.scalar(sa.select(sa.func.count()).where(PortalLink.patient_id == patient.id))


def _make_due(db) -> None:
    """Time passes: every waiting message is due now."""
    db.session.execute(
        sa.update(OutgoingMessage)
        .where(OutgoingMessage.status == MessageStatus.QUEUED)
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    db.session.flush()


def test_invitation_is_delivered_right_after_the_commit_in_development(
    client, login, patient, db, smtp, mail_via
):
    mail_via(smtp, "inline")
    login(Role.FRONT_DESK)
    response = _invite(client, patient)
    assert response.status_code == 302
    assert "queued" in client.get(response.location).get_data(as_text=True)
    [received] = smtp.inbox.messages
    assert received["To"] == "ada.q@x.example.com"
    assert LINK.search(received.get_payload())
    [message] = _messages(db)
    assert message.status is MessageStatus.SENT and message.attempts == 1
    assert message.body is None  # the link inside was a credential; it is not kept


def test_with_a_worker_the_request_only_queues(client, login, patient, db, smtp, mail_via):
    mail_via(smtp, "worker")
    login(Role.FRONT_DESK)
    assert _invite(client, patient).status_code == 302
    [message] = _messages(db)
    assert message.status is MessageStatus.QUEUED and smtp.inbox.messages == []


def test_a_refused_request_queues_nothing(client, login, patient, db, smtp, mail_via):
    mail_via(smtp, "worker")
    login(Role.FRONT_DESK)
    factories.make_user(Role.FRONT_DESK, email="taken@x.example.com")
    page = f"/portal-access/{patient.id}"
    response = client.post_form(f"{page}/invite", {"email": "taken@x.example.com"}, token_from=page)
    assert response.status_code == 409
    assert _messages(db) == []


def test_mail_down_says_queued_then_delivers_once_when_it_returns(
    app, client, login, patient, db, smtp, mail_via
):
    mail_via(smtp, "inline")
    smtp.stop()
    login(Role.FRONT_DESK)
    response = _invite(client, patient)
    assert response.status_code == 302  # never a 500, never "nothing was saved"
    page = client.get(response.location).get_data(as_text=True)
    assert "queued" in page and "nothing was saved" not in page
    [message] = _messages(db)
    assert message.status is MessageStatus.QUEUED and message.attempts == 1
    assert message.last_error and message.next_attempt_at > utcnow()
    assert _links(db, patient) == 1

    # Nothing is due yet: a worker now sends nothing, and nothing is lost.
    worker = Worker(app)
    assert worker.deliver_due() == 0
    smtp.start()
    _make_due(db)
    assert worker.deliver_due() == 1
    assert worker.deliver_due() == 0
    assert len(smtp.inbox.messages) == 1
    assert _messages(db)[0].status is MessageStatus.SENT
    assert _links(db, patient) == 1  # the retry sent the same link, it made no new one


def test_backoff_doubles_and_gives_up_after_the_last_attempt(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "JOBS_MAX_ATTEMPTS", 3)

    def refuse(claimed):
        raise ConnectionRefusedError

    queue.enqueue(db.session, "a@x.example.com", "Hello", "Body")
    worker = Worker(app, deliver=refuse)
    waits = []
    for _ in range(3):
        _make_due(db)
        started = utcnow()
        assert worker.deliver_due() == 1
        [message] = _messages(db)
        if message.status is MessageStatus.QUEUED:
            waits.append(round((message.next_attempt_at - started).total_seconds()))
    assert waits == [30, 60]
    assert message.status is MessageStatus.FAILED and message.attempts == 3
    assert message.last_error == "ConnectionRefusedError"
    _make_due(db)
    assert worker.deliver_due() == 0  # given up: only an admin brings it back


def test_a_permanent_refusal_fails_at_once(app, db):
    def refuse(claimed):
        raise PermanentFailure("The mail server refused the recipient's address.")

    queue.enqueue(db.session, "nobody@x.example.com", "Hello", "Body")
    Worker(app, deliver=refuse).deliver_due()
    [message] = _messages(db)
    assert message.status is MessageStatus.FAILED and message.attempts == 1
    assert "refused the recipient" in message.last_error


def test_an_expired_claim_is_taken_over(app, db):
    queue.enqueue(db.session, "a@x.example.com", "Hello", "Body")
    claimed = queue.claim_next(db.session, "dead-worker")
    assert claimed is not None
    assert queue.claim_next(db.session, "other") is None  # held while the lease runs
    later = utcnow() + queue.LEASE + timedelta(seconds=1)
    again = queue.claim_next(db.session, "other", now=later)
    assert again is not None and again.id == claimed.id and again.attempts == 2
    assert not queue.mark_sent(db.session, claimed, "dead-worker")  # its claim is gone
    assert queue.mark_sent(db.session, again, "other")


def test_admin_sees_undelivered_messages_and_retries_one(
    app, client, login, patient, db, smtp, mail_via
):
    mail_via(smtp, "worker")
    queue.enqueue(db.session, "a@x.example.com", "Set a new password", "secret link")
    [message] = _messages(db)
    message.status = MessageStatus.FAILED
    message.attempts = 10
    message.last_error = "SMTPServerDisconnected"
    db.session.flush()
    login(Role.ADMIN)
    page = client.get("/admin/messages")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "a@x.example.com" in html and "SMTPServerDisconnected" in html
    assert "secret link" not in html  # staff never read a patient's link
    assert "/admin/messages" in client.get("/admin/users").get_data(as_text=True)  # the menu
    response = client.post_form(
        f"/admin/messages/{message.id}/retry", {}, token_from="/admin/messages"
    )
    assert response.status_code == 302
    [message] = _messages(db)
    assert message.status is MessageStatus.QUEUED and message.attempts == 0
    assert db.session.scalar(
        sa.select(sa.func.count()).where(AuditEvent.action == "mail.retry_requested")
    )
    assert Worker(app).deliver_due() == 1
    assert smtp.inbox.subjects() == ["Set a new password"]
    assert "Every message has been delivered" in client.get("/admin/messages").get_data(
        as_text=True
    )


def _forgot(app, email: str):
    from tests.conftest import CsrfClient

    visitor = CsrfClient(app.test_client())
    response = visitor.post_form("/portal/forgot", {"email": email}, token_from="/portal/forgot")
    page = visitor.get(response.location).get_data(as_text=True)
    notice = re.search(r"If a patient portal account[^<]*", page).group(0)
    return response.status_code, response.location, notice


@pytest.mark.parametrize("mail_up", [True, False], ids=["mail up", "mail down"])
def test_forgot_password_answers_the_same_for_every_address(app, db, smtp, mail_via, mail_up):
    mail_via(smtp, "inline")
    if not mail_up:
        smtp.stop()
    patient = PatientFactory(email="pat@x.example.com")
    factories.make_user(Role.PATIENT, email="pat@x.example.com", patient=patient)
    inactive_patient = PatientFactory(email="gone@x.example.com")
    factories.make_user(
        Role.PATIENT, email="gone@x.example.com", patient=inactive_patient, active=False
    )
    factories.make_user(Role.PROVIDER, email="dr@x.example.com")
    answers = {
        email: _forgot(app, email)
        for email in (
            "pat@x.example.com",
            "nobody@x.example.com",
            "gone@x.example.com",
            "dr@x.example.com",
        )
    }
    assert len(set(answers.values())) == 1, answers
    assert answers["pat@x.example.com"][0] == 302
    [message] = _messages(db)
    assert message.recipient == "pat@x.example.com"
    assert message.status is (MessageStatus.SENT if mail_up else MessageStatus.QUEUED)


@pytest.fixture
def tls_smtp(tmp_path):
    """An SMTP server that offers STARTTLS with a self-signed certificate for 127.0.0.1."""
    import ssl
    import subprocess

    from aiosmtpd.controller import Controller

    from tests.ops.servers import free_port
    from tests.ops.smtp import Inbox

    cert, key = tmp_path / "smtp.pem", tmp_path / "smtp.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context)
    controller.start()
    yield inbox, port, cert
    controller.stop()


def test_starttls_checks_the_mail_servers_certificate(app, tls_smtp, monkeypatch):
    """MAIL_USE_TLS=1: a certificate nobody vouches for is refused (the message stays queued
    for a retry); once the system trusts it (SSL_CERT_FILE), the message goes."""
    from types import SimpleNamespace

    from clinic.mail import deliver_smtp

    inbox, port, cert = tls_smtp
    settings = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_USE_TLS": True}
    for key, value in {**settings, "MAIL_USERNAME": ""}.items():
        monkeypatch.setitem(app.config, key, value)
    message = SimpleNamespace(recipient="ada@x.example.com", subject="Your link", body="secret")
    with app.app_context():
        with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
            deliver_smtp(message)
        assert inbox.subjects() == []
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        deliver_smtp(message)
    assert inbox.subjects() == ["Your link"]
