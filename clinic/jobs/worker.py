"""The job worker: delivers queued e-mail with retries and writes a heartbeat.

`flask worker` runs it as its own process in production (JOBS_MODE=worker). In development
(JOBS_MODE=inline) the web process delivers right after the request's commit instead, so
`make run` needs nothing else. Each step runs in its own short transaction on its own
session, never inside a request's transaction, and never while talking to the mail server.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask
from prometheus_client import Counter, Gauge
from sqlalchemy.orm import Session

from clinic import mail
from clinic.db_setup import begin_write
from clinic.extensions import db
from clinic.jobs import queue
from clinic.jobs.models import WorkerHeartbeat
from clinic.mail import PermanentFailure
from clinic.models.base import utcnow

logger = logging.getLogger("clinic.jobs")

DELIVERED = Counter("clinic_mail_delivered_total", "E-mail messages delivered")
FAILURES = Counter(
    "clinic_mail_delivery_failures_total",
    "Failed delivery attempts; outcome: retry (due again later) or gave_up (failed)",
    ["outcome"],
)
WAITING = Gauge("clinic_mail_queue_waiting", "Messages waiting to be delivered")
FAILED = Gauge("clinic_mail_queue_failed", "Messages given up on (retry from the admin page)")
OLDEST = Gauge(
    "clinic_mail_queue_oldest_waiting_seconds", "Age of the oldest message waiting (0: none)"
)
HEARTBEAT_EVERY_SECONDS = 10
_DAY = timedelta(days=1)


Deliver = Callable[[queue.Claimed], None]

# Further work each turn of the loop, added by wings that own it (the patient messages'
# planning and sending: `clinic.messaging.scheduler`); each returns how much it handled.
PASSES: list[Callable[[Worker], int]] = []


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Worker:
    """Delivers due messages for one app; several may run at once, on any number of hosts."""

    def __init__(self, app: Flask, deliver: Deliver | None = None, name: str | None = None):

        self.app = app
        self.name = name or worker_name()
        self.deliver = deliver or mail.deliver_smtp
        self.started_at = utcnow()
        self.last_beat: datetime | None = None

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        """One short transaction of the worker's own, holding SQLite's write lock from the
        start (the request's transaction is never used: there is none, or it has ended)."""
        with self.app.app_context():
            session = Session(bind=db.engine, join_transaction_mode="create_savepoint")
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    def deliver_due(self, limit: int = 50) -> int:
        """Deliver up to `limit` due messages; the number attempted."""
        attempted = 0
        while attempted < limit:
            with self._transaction() as session:
                claimed = queue.claim_next(session, self.name)
            if claimed is None:
                break
            attempted += 1
            self._attempt(claimed)
        return attempted

    def _attempt(self, claimed: queue.Claimed) -> None:
        config = self.app.config
        try:
            with self.app.app_context():
                self.deliver(claimed)
        except Exception as err:
            gave_up = isinstance(err, PermanentFailure) or (
                claimed.attempts >= config["JOBS_MAX_ATTEMPTS"]
            )
            retry_in = (
                None
                if gave_up
                else queue.backoff(
                    claimed.attempts,
                    config["JOBS_RETRY_BASE_SECONDS"],
                    config["JOBS_RETRY_MAX_SECONDS"],
                )
            )
            error = _describe(err)
            with self._transaction() as session:
                kept = queue.mark_failed(session, claimed, self.name, error, retry_in=retry_in)
            FAILURES.labels("gave_up" if gave_up else "retry").inc()
            logger.warning(
                "mail delivery failed",
                extra={
                    "message_id": claimed.id,
                    "attempt": claimed.attempts,
                    "error": error,
                    "outcome": "gave up" if gave_up else f"retry in {retry_in}",
                    "claim_kept": kept,
                },
            )
            return
        with self._transaction() as session:
            begin_write(session)
            kept = queue.mark_sent(session, claimed, self.name)
        DELIVERED.inc()
        if not kept:  # our lease ran out mid-delivery and another worker took the message
            logger.warning(
                "mail delivered after its claim expired", extra={"message_id": claimed.id}
            )
        else:
            logger.info("mail delivered", extra={"message_id": claimed.id})

    def beat(self, force: bool = False) -> None:
        """Tell /readyz this worker is alive (at most every HEARTBEAT_EVERY_SECONDS)."""
        now = utcnow()
        if (
            not force
            and self.last_beat
            and (now - self.last_beat).total_seconds() < HEARTBEAT_EVERY_SECONDS
        ):
            return
        with self._transaction() as session:
            updated = queue.rowcount(
                session.execute(
                    sa.update(WorkerHeartbeat)
                    .where(WorkerHeartbeat.worker == self.name)
                    .values(beat_at=now)
                    .execution_options(synchronize_session=False)
                )
            )
            if not updated:
                session.add(
                    WorkerHeartbeat(worker=self.name, started_at=self.started_at, beat_at=now)
                )
            # beats of workers gone for a day are of no use to anyone
            session.execute(
                sa.delete(WorkerHeartbeat)
                .where(WorkerHeartbeat.beat_at < now - _DAY)
                .execution_options(synchronize_session=False)
            )
        self.last_beat = now

    def observe(self) -> queue.QueueState:
        """Refresh the queue gauges (served by `flask worker --metrics-address`)."""
        with self._transaction() as session:
            current = queue.state(session)
        WAITING.set(current.waiting)
        FAILED.set(current.failed)
        oldest = current.oldest_waiting_at
        OLDEST.set((utcnow() - oldest).total_seconds() if oldest else 0)
        return current

    def run(self, stop: threading.Event, once: bool = False) -> None:
        """Beat, deliver what is due, sleep; until `stop` is set (SIGTERM) or once."""
        logger.info("job worker started", extra={"worker": self.name})
        poll = self.app.config["JOBS_POLL_SECONDS"]
        while not stop.is_set():
            try:
                self.beat()
                attempted = sum(run_pass(self) for run_pass in PASSES)
                attempted += self.deliver_due()
                self.observe()
            except sa.exc.OperationalError:
                # the database is unreachable: nothing can be claimed or recorded; try later
                logger.warning("job worker: database unreachable", exc_info=False)
                attempted = 0
            if once:
                break
            if not attempted:
                stop.wait(poll)
        logger.info("job worker stopped", extra={"worker": self.name})


def _describe(err: Exception) -> str:
    """The failure in words an admin can act on, without addresses or message text."""
    code = getattr(err, "smtp_code", None)
    if isinstance(err, PermanentFailure) and err.args:
        return str(err.args[0])
    if code:
        return f"{type(err).__name__} (the mail server answered {code})"
    return type(err).__name__


def deliver_after_commit(app: Flask) -> None:
    """Development: deliver what is due right after the request's commit, in this process."""
    try:
        Worker(app, name=f"inline:{socket.gethostname()}:{os.getpid()}").deliver_due(limit=20)
    except sa.exc.SQLAlchemyError:
        logger.warning(
            "inline mail delivery could not reach the database; the worker retries", exc_info=True
        )


def heartbeat_age(session: queue.AnySession) -> float | None:
    """Seconds since any worker last beat (None: no worker ever did)."""
    last = session.scalar(sa.select(sa.func.max(WorkerHeartbeat.beat_at)))
    if last is None:
        return None
    return (utcnow() - last).total_seconds()


mail.INLINE_DELIVERY.append(deliver_after_commit)
