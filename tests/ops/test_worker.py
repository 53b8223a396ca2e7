"""The job worker for real: two `flask worker` processes on one database and one SMTP server
(aiosmtpd) deliver every queued message exactly once, keep their heartbeat for /readyz, and
stop cleanly on SIGTERM. Runs on SQLite and PostgreSQL, with real commits."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa

from clinic.extensions import db
from clinic.jobs import queue
from clinic.jobs.models import MessageStatus, OutgoingMessage, WorkerHeartbeat
from tests.conftest import make_test_app
from tests.databases import fresh_url
from tests.ops.smtp import PrivateSmtp

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 60


@pytest.fixture(scope="module")
def jobs_app(db_kind):
    app = make_test_app(fresh_url(db_kind, "jobs"), JOBS_MODE="worker")
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    yield app
    with app.app_context():
        db.engine.dispose()


def _start_worker(app, smtp: PrivateSmtp) -> subprocess.Popen:
    env = {
        **os.environ,
        "FLASK_APP": "wsgi.py",
        "CLINIC_ENV": "development",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "MAIL_TRANSPORT": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp.port),
        "MAIL_USE_TLS": "0",
        "JOBS_MODE": "worker",
        "JOBS_POLL_SECONDS": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _statuses(app) -> collections.Counter:
    with app.app_context():
        counts = collections.Counter(db.session.scalars(sa.select(OutgoingMessage.status)))
        db.session.remove()
    return counts


def _failed_attempts(app) -> int:
    with app.app_context():
        attempts = db.session.scalar(
            sa.select(sa.func.sum(OutgoingMessage.attempts)).where(
                OutgoingMessage.status == MessageStatus.QUEUED
            )
        )
        db.session.remove()
    return attempts or 0


def _wait_for(condition, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise TimeoutError("the workers did not finish in time")


def test_two_workers_deliver_every_message_exactly_once(jobs_app):
    smtp = PrivateSmtp().start()
    with jobs_app.app_context():
        for number in range(MESSAGES):
            queue.enqueue(db.session, f"p{number}@x.example.com", f"Message {number}", "Body")
        db.session.commit()
    workers = [_start_worker(jobs_app, smtp) for _ in range(2)]
    try:
        _wait_for(lambda: _statuses(jobs_app)[MessageStatus.SENT] == MESSAGES)
        # the mail server goes down; what is queued meanwhile waits and is sent once it is back
        smtp.stop()
        with jobs_app.app_context():
            queue.enqueue(db.session, "late@x.example.com", "Written while mail was down", "B")
            db.session.commit()
        _wait_for(lambda: _failed_attempts(jobs_app) >= 1)
        with jobs_app.app_context():
            waiting = db.session.scalars(
                sa.select(OutgoingMessage).where(OutgoingMessage.status == MessageStatus.QUEUED)
            ).one()
            assert waiting.attempts >= 1 and waiting.last_error
            waiting.next_attempt_at = waiting.created_at  # the backoff has passed
            db.session.commit()
        smtp.start()
        _wait_for(lambda: _statuses(jobs_app)[MessageStatus.SENT] == MESSAGES + 1)
        time.sleep(2)  # give a double delivery the chance to show
        with jobs_app.app_context():
            assert db.session.scalar(sa.select(sa.func.count(WorkerHeartbeat.worker))) == 2
            ready = jobs_app.test_client().get("/readyz").json
            db.session.remove()
        assert ready["worker"] == "ok" and ready["status"] == "ok"
    finally:
        for process in workers:
            process.send_signal(signal.SIGTERM)
        outputs = [process.communicate(timeout=30)[0] for process in workers]
        smtp.stop()
    assert [process.returncode for process in workers] == [0, 0], outputs
    subjects = collections.Counter(smtp.inbox.subjects())
    assert len(subjects) == MESSAGES + 1
    assert set(subjects.values()) == {1}, [s for s, n in subjects.items() if n > 1]
    assert all("job worker stopped" in output for output in outputs), outputs


def test_readyz_reports_a_silent_worker_without_failing(jobs_app):
    with jobs_app.app_context():
        db.session.execute(sa.delete(WorkerHeartbeat))
        db.session.commit()
        answer = jobs_app.test_client().get("/readyz")
        db.session.remove()
    assert answer.status_code == 200
    assert answer.json["status"] == "degraded"
    assert answer.json["worker"] == "no heartbeat yet"
