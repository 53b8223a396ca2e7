"""The message queue's tables: outgoing e-mail and the workers' heartbeats."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from clinic.extensions import Model
from clinic.models.base import UTCDateTime, enum_column, utcnow


class MessageStatus(enum.Enum):
    QUEUED = "queued"  # waiting for its next attempt
    SENDING = "sending"  # claimed by a worker until lease_until
    SENT = "sent"
    FAILED = "failed"  # gave up; an admin may queue it again


class OutgoingMessage(Model):
    """An e-mail written in the request's transaction and delivered by a worker."""

    __tablename__ = "outgoing_message"
    __table_args__ = (
        sa.Index("ix_outgoing_message_due", "status", "next_attempt_at"),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        sa.CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name="sent_when_sent"),
        # a delivered message keeps no body: the link inside is a credential
        sa.CheckConstraint("status = 'sent' OR body IS NOT NULL", name="body_until_sent"),
        sa.CheckConstraint(
            "(status = 'sending') = (lease_until IS NOT NULL AND claimed_by IS NOT NULL)",
            name="lease_while_sending",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    recipient: Mapped[str] = mapped_column(sa.String(254), nullable=False)
    subject: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    body: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    status: Mapped[MessageStatus] = enum_column(
        MessageStatus, "message_status", nullable=False, default=MessageStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(sa.String(300), nullable=True)


class WorkerHeartbeat(Model):
    """When each job worker last showed it was alive (read by /readyz)."""

    __tablename__ = "worker_heartbeat"

    worker: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
