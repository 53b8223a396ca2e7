"""Confirm, cancel or ask to reschedule from a message, without signing in.

A link holds a random token; only its SHA-256 is stored, bound to one appointment. It works
once (a conditional UPDATE claims it, so two tabs cannot both use it), until the visit starts
or MESSAGE_LINK_DAYS pass. The page shows the appointment before anything happens (GET shows,
POST acts). A cancel goes through the scheduling service, so the slot is free at once, and the
front desk sees it on the board and on its list of patients' requests.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from clinic.auth.models import User
from clinic.errors import Refused
from clinic.extensions import db
from clinic.jobs.queue import AnySession, rowcount
from clinic.messaging.models import AppointmentLink, PatientReply, ReplyKind
from clinic.models import audit
from clinic.models.base import utcnow
from clinic.reads import on_postgresql, one_of
from clinic.scheduling import services as scheduling
from clinic.scheduling.models import Appointment, Status

UNUSABLE = "This link has expired or was already used."
CANCEL_REASON = "Cancelled by the patient from a message link"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(session: AnySession, appointment_id: int, starts_at: datetime) -> str:
    """A new link for this appointment (in `session`); the token to put in the message."""
    now = utcnow()
    token = secrets.token_urlsafe(32)
    limit = now + timedelta(days=current_app.config["MESSAGE_LINK_DAYS"])
    session.add(
        AppointmentLink(
            appointment_id=appointment_id,
            token_hash=_digest(token),
            created_at=now,
            expires_at=max(min(starts_at, limit), now + timedelta(minutes=1)),
        )
    )
    session.flush()
    return token


def find(appointment_id: int, token: str, now: datetime | None = None) -> AppointmentLink | None:
    """The usable link for this appointment and token, else None (unknown, another
    appointment's, used, expired, or the visit is no longer booked)."""
    now = now or utcnow()
    link = db.session.scalar(
        sa.select(AppointmentLink).where(AppointmentLink.token_hash == _digest(token))
    )
    if (
        link is None
        or link.appointment_id != appointment_id
        or link.used_at is not None
        or link.expires_at <= now
    ):
        return None
    return link


def act(appointment: Appointment, token: str, reply: ReplyKind) -> PatientReply:
    """Use the link once for `reply`; refused when it cannot be used."""
    now = utcnow()
    link = find(appointment.id, token, now)
    if link is None:
        raise Refused(UNUSABLE)
    if appointment.status is not Status.BOOKED or appointment.starts_at <= now:
        raise Refused("This visit can no longer be changed here. Please call the clinic.")
    claimed = db.session.execute(
        sa.update(AppointmentLink)
        .where(
            AppointmentLink.id == link.id,
            AppointmentLink.used_at.is_(None),
            AppointmentLink.expires_at > now,
        )
        .values(used_at=now, used_for=reply)
        .execution_options(synchronize_session=False)
    )
    if rowcount(claimed) != 1:
        raise Refused(UNUSABLE)
    if reply is ReplyKind.CANCELLED:
        scheduling.change_status(appointment, Status.CANCELLED, by=None, reason=CANCEL_REASON)
    row = db.session.get(PatientReply, appointment.id)
    if row is None:
        row = PatientReply(appointment_id=appointment.id)
        db.session.add(row)
    row.reply, row.replied_at = reply, now
    # a cancellation or reschedule request waits on the front desk's list until handled
    row.handled_at = row.handled_by_id = None
    db.session.flush()
    audit.record(
        f"appointment.patient_{reply.value}",
        actor=None,
        obj=appointment,
        patient_id=appointment.patient_id,
        detail="from a message link",
    )
    db.session.flush()
    return row


@functools.cache
def _replies_query(postgresql: bool) -> sa.Select:
    return sa.select(PatientReply).where(
        one_of(PatientReply.appointment_id, "ids", postgresql=postgresql)
    )


def replies_for(appointment_ids: list[int]) -> dict[int, PatientReply]:
    """The patients' answers for these appointments, in one query."""
    if not appointment_ids:
        return {}
    rows = db.session.scalars(_replies_query(on_postgresql()), {"ids": appointment_ids})
    return {row.appointment_id: row for row in rows}


def open_requests(limit: int = 200) -> list[PatientReply]:
    """Cancellations and reschedule requests the front desk has not handled, oldest first."""
    return list(
        db.session.scalars(
            sa.select(PatientReply)
            .where(
                PatientReply.handled_at.is_(None),
                PatientReply.reply.in_([ReplyKind.CANCELLED, ReplyKind.RESCHEDULE]),
            )
            .order_by(PatientReply.replied_at)
            .limit(limit)
        )
    )


def count_open_requests() -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(PatientReply)
            .where(
                PatientReply.handled_at.is_(None),
                PatientReply.reply.in_([ReplyKind.CANCELLED, ReplyKind.RESCHEDULE]),
            )
        )
        or 0
    )


def mark_handled(reply: PatientReply, by: User) -> None:
    if reply.handled_at is not None:
        raise Refused("Someone has already dealt with this request.")
    reply.handled_at, reply.handled_by_id = utcnow(), by.id
    db.session.flush()
    audit.record(
        "appointment.patient_request_handled",
        actor=by,
        obj=reply.appointment,
        patient_id=reply.appointment.patient_id,
        detail=reply.reply.value,
    )
