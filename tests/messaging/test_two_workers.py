"""Two workers planning and sending at once, with real commits, on SQLite and PostgreSQL:
every message is planned once and sent once (the unique (target, kind) and the claim)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import flask_migrate
import pytest
import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.extensions import db
from clinic.mail import OutboxMessage
from clinic.messaging.models import MessageKind, PatientMessage, SendStatus
from clinic.messaging.scheduler import Sender
from clinic.patients.models import ContactMethod
from clinic.scheduling.models import Appointment, Status, VisitKind
from tests.conftest import make_test_app
from tests.databases import fresh_url
from tests.factories import PatientFactory, make_user

VISITS = 24
NOW = datetime(2026, 5, 4, 16, 0, tzinfo=UTC)  # noon in New York


@pytest.fixture(scope="module")
def workers_app(db_kind):
    app = make_test_app(fresh_url(db_kind, "msgworkers"), JOBS_MODE="worker")
    with app.app_context():
        flask_migrate.upgrade()
        provider = make_user(Role.PROVIDER)
        for n in range(VISITS):
            patient = PatientFactory(preferred_contact=ContactMethod.EMAIL)
            patient.email = f"two-workers-{n}@mail.example.com"
            starts = NOW + timedelta(days=1 + n % 5, minutes=30 * n)
            db.session.add(
                Appointment(
                    patient=patient, provider=provider, kind=VisitKind.PROCEDURE,
                    starts_at=starts, ends_at=starts + timedelta(minutes=30),
                    status=Status.BOOKED, created_at=NOW - timedelta(hours=1),
                )
            )  # fmt: skip
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    yield app
    with app.app_context():
        db.engine.dispose()


def test_two_workers_plan_and_send_each_message_once(workers_app):
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def work(name: str) -> None:
        sender = Sender(workers_app, name=name)
        try:
            start.wait()
            for minutes in range(0, 6 * 24 * 60, 180):  # six days of turns, every 3 hours
                sender.run_once(NOW + timedelta(minutes=minutes))
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors

    with workers_app.app_context():
        rows = db.session.execute(
            sa.select(PatientMessage.target, PatientMessage.kind, PatientMessage.status)
        ).all()
        mail = db.session.execute(sa.select(OutboxMessage.recipient, OutboxMessage.subject)).all()
        db.session.remove()
    per_key = Counter((target, kind) for target, kind, _ in rows)
    assert max(per_key.values()) == 1
    kinds = Counter(kind for _, kind, _ in rows)
    assert kinds[MessageKind.CONFIRMATION] == VISITS
    assert kinds[MessageKind.REMINDER_DAY_BEFORE] == VISITS
    sent = [r for r in rows if r.status is SendStatus.SENT]
    assert len(sent) == len(mail) >= 2 * VISITS
    assert max(Counter(mail).values()) == 1, "an e-mail went out twice"
