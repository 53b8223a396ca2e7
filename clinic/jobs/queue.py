"""The outgoing-message queue: enqueue in the request's transaction, claim, settle, retry.

The database is the queue. A request writes its message in its own transaction, so a message
exists exactly when the change that caused it was committed. Workers claim one due message
at a time with a single conditional UPDATE (on PostgreSQL over `FOR UPDATE SKIP LOCKED`), which
gives it to one worker for a lease; the worker then records the outcome only while it still
holds that claim. A worker that dies mid-delivery loses its lease and the message is due again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, scoped_session

from clinic.jobs.models import MessageStatus, OutgoingMessage
from clinic.models.base import utcnow

AnySession = Session | scoped_session
LEASE = timedelta(seconds=120)  # far above the SMTP timeout, so a live worker keeps its claim


@dataclass(frozen=True)
class Claimed:
    """A message handed to one worker, with what it needs to deliver it."""

    id: int
    recipient: str
    subject: str
    body: str
    attempts: int


@dataclass(frozen=True)
class QueueState:
    """What an operator watches: messages waiting, the oldest of them, and the failed ones."""

    waiting: int
    failed: int
    oldest_waiting_at: datetime | None


def enqueue(session: AnySession, recipient: str, subject: str, body: str) -> OutgoingMessage:
    """Add a message to the caller's transaction; it is due at once."""
    message = OutgoingMessage(
        recipient=recipient,
        subject=subject,
        body=body,
        status=MessageStatus.QUEUED,
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(message)
    session.flush()
    return message


def _due(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(
            OutgoingMessage.status == MessageStatus.QUEUED,
            OutgoingMessage.next_attempt_at <= now,
        ),
        sa.and_(
            OutgoingMessage.status == MessageStatus.SENDING,
            OutgoingMessage.lease_until < now,
        ),
    )


def claim_next(session: AnySession, worker: str, now: datetime | None = None) -> Claimed | None:
    """Give the next due message to `worker` (one statement; None when nothing is due)."""
    now = now or utcnow()
    next_id = (
        sa.select(OutgoingMessage.id)
        .where(_due(now))
        .order_by(OutgoingMessage.next_attempt_at, OutgoingMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite's UPDATE holds the write lock
        .scalar_subquery()
    )
    row = session.execute(
        sa.update(OutgoingMessage)
        .where(OutgoingMessage.id == next_id, _due(now))
        .values(
            status=MessageStatus.SENDING,
            claimed_by=worker,
            lease_until=now + LEASE,
            attempts=OutgoingMessage.attempts + 1,
        )
        .returning(
            OutgoingMessage.id,
            OutgoingMessage.recipient,
            OutgoingMessage.subject,
            OutgoingMessage.body,
            OutgoingMessage.attempts,
        )
        .execution_options(synchronize_session=False)
    ).first()
    return None if row is None else Claimed(*row)


def _settle(session: AnySession, claimed: Claimed, worker: str, **values) -> bool:
    result = session.execute(
        sa.update(OutgoingMessage)
        .where(
            OutgoingMessage.id == claimed.id,
            OutgoingMessage.status == MessageStatus.SENDING,
            OutgoingMessage.claimed_by == worker,
        )
        .values(claimed_by=None, lease_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def rowcount(result: sa.Result) -> int:
    """Rows an UPDATE or DELETE changed."""
    return result.rowcount if isinstance(result, sa.CursorResult) else 0


def mark_sent(session: AnySession, claimed: Claimed, worker: str) -> bool:
    """Record a delivery (False when the claim had already been lost); the body is dropped."""
    return _settle(
        session,
        claimed,
        worker,
        status=MessageStatus.SENT,
        sent_at=utcnow(),
        body=None,
        last_error=None,
    )


def backoff(attempts: int, base_seconds: int, max_seconds: int) -> timedelta:
    """Wait before the next attempt: base, 2 × base, 4 × base, … capped at max."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), max_seconds))


def mark_failed(
    session: AnySession,
    claimed: Claimed,
    worker: str,
    error: str,
    *,
    retry_in: timedelta | None,
) -> bool:
    """Record a failed attempt: due again after `retry_in`, or given up when it is None."""
    values: dict[str, object]
    if retry_in is None:
        values = {"status": MessageStatus.FAILED}
    else:
        values = {"status": MessageStatus.QUEUED, "next_attempt_at": utcnow() + retry_in}
    return _settle(session, claimed, worker, last_error=error[:300], **values)


def retry(session: AnySession, message_id: int) -> bool:
    """Queue an undelivered message again now, for a fresh round of attempts."""
    result = session.execute(
        sa.update(OutgoingMessage)
        .where(
            OutgoingMessage.id == message_id,
            OutgoingMessage.status.in_([MessageStatus.FAILED, MessageStatus.QUEUED]),
        )
        .values(status=MessageStatus.QUEUED, attempts=0, next_attempt_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def undelivered() -> sa.Select:
    """Messages not delivered yet, the longest-waiting first."""
    return (
        sa.select(OutgoingMessage)
        .where(OutgoingMessage.status != MessageStatus.SENT)
        .order_by(OutgoingMessage.created_at, OutgoingMessage.id)
    )


def state(session: AnySession) -> QueueState:
    """Counts for the admin page, the metrics and the alerts."""
    waiting_statuses = [MessageStatus.QUEUED, MessageStatus.SENDING]
    waiting, oldest = session.execute(
        sa.select(sa.func.count(), sa.func.min(OutgoingMessage.created_at)).where(
            OutgoingMessage.status.in_(waiting_statuses)
        )
    ).one()
    failed = session.scalar(
        sa.select(sa.func.count()).where(OutgoingMessage.status == MessageStatus.FAILED)
    )
    return QueueState(waiting=waiting, failed=failed or 0, oldest_waiting_at=oldest)
