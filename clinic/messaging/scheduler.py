"""The messaging pass of the job worker: plan what is due, then send it, never twice.

Planning (`plan`) reads, with indexed range queries, the bookings made lately (confirmations
and change notices), the booked visits of the next days (reminders), the questionnaire sets
opening or closing (nudges) and the follow-ups due and not booked (recalls), and writes one
`patient_message` per (target, kind) with INSERT … ON CONFLICT DO NOTHING: the unique
constraint makes a second planner, or a second pass, add nothing. Each row is due at a local
time of the clinic's zone (DST-safe through zoneinfo) outside the quiet hours.

Sending (`send_due`) claims one due row at a time (a conditional UPDATE over FOR UPDATE SKIP
LOCKED, as the e-mail queue does) and, in that same short transaction, checks it is still
wanted (the visit still booked at the same time, the questionnaire still open, the follow-up
still unbooked, the patient still agreeing), writes the e-mail into the mail transport or the
text into the SMS outbox and marks it sent. A text to Twilio is sent after that transaction,
and its outcome recorded while the claim holds. Requests never send: they only write rows.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask, current_app, url_for
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from clinic.db_setup import begin_write
from clinic.extensions import db
from clinic.jobs.queue import AnySession, backoff, rowcount
from clinic.journeys.models import FollowUp, FollowUpStatus, Journey
from clinic.journeys.states import OPEN_JOURNEY
from clinic.mail import DEVELOPMENT_BASE_URL
from clinic.messaging import links, services, transports
from clinic.messaging.models import (
    Channel,
    MessageKind,
    MessagePreference,
    MessagingSettings,
    PatientMessage,
    SendStatus,
    Thread,
)
from clinic.models.base import utcnow
from clinic.outcomes.models import QuestionnaireResponse
from clinic.outcomes.states import OPEN_RESPONSE
from clinic.patients.models import Patient
from clinic.scheduling.models import LIVE_SQL, LIVE_STATUSES, Appointment, Status

logger = logging.getLogger("clinic.messages")

LEASE = timedelta(seconds=120)
BOOKED_LOOKBACK = timedelta(days=2)  # bookings this recent still get their confirmation
RECALL_LOOKBACK_DAYS = 14  # follow-ups that fell due this long ago still get one recall
CHUNK = 500


# --- clinic time -----------------------------------------------------------------------------


def local_at(day: date, hour: int, tz: ZoneInfo) -> datetime:
    """The UTC instant of `hour`:00 on a clinic calendar day (a wall-clock time, so the same
    local hour on either side of a daylight-saving change)."""
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)


def in_quiet_hours(when: datetime, rules: MessagingSettings, tz: ZoneInfo) -> bool:
    start, end = rules.quiet_from_hour, rules.quiet_until_hour
    if start == end:
        return False
    hour = when.astimezone(tz).hour
    return hour >= start or hour < end if start > end else start <= hour < end


def outside_quiet_hours(when: datetime, rules: MessagingSettings, tz: ZoneInfo) -> datetime:
    """`when`, or the end of the quiet hours it falls in."""
    if not in_quiet_hours(when, rules, tz):
        return when
    local = when.astimezone(tz)
    day = local.date()
    if local.hour >= rules.quiet_until_hour:  # evening: the quiet hours end tomorrow
        day += timedelta(days=1)
    return local_at(day, rules.quiet_until_hour, tz)


@dataclass(frozen=True)
class ReminderRule:
    kind: MessageKind
    days_before: int
    procedures_only: bool


def reminder_rules(rules: MessagingSettings) -> list[ReminderRule]:
    return [
        ReminderRule(MessageKind.REMINDER_MEDICINE, rules.medicine_days, True),
        ReminderRule(MessageKind.REMINDER_FASTING, rules.fasting_days, True),
        ReminderRule(MessageKind.REMINDER_DAY_BEFORE, rules.day_before_days, False),
    ]


def reminder_due(
    starts_at: datetime, rule: ReminderRule, rules: MessagingSettings, tz: ZoneInfo, now: datetime
) -> datetime | None:
    """When a reminder of a visit goes out: `send_hour` on the clinic day `days_before` the
    visit's day, or now when booked later that day; None when that day has passed or the
    time would not be before the visit."""
    visit_day = starts_at.astimezone(tz).date()
    send_day = visit_day - timedelta(days=rule.days_before)
    if send_day < now.astimezone(tz).date():
        return None
    due = max(local_at(send_day, rules.send_hour, tz), now)
    due = outside_quiet_hours(due, rules, tz)
    return due if due < starts_at else None


# --- planning --------------------------------------------------------------------------------


@dataclass
class PlanResult:
    planned: int = 0
    skipped: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def _insert(session: AnySession, rows: list[dict]) -> int:
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    statement = (
        module.insert(PatientMessage)
        .on_conflict_do_nothing(index_elements=["target", "kind"])
        .returning(PatientMessage.id)
    )
    added = 0
    for start in range(0, len(rows), CHUNK):
        added += len(session.execute(statement, rows[start : start + CHUNK]).all())
    return added


def _existing(session: AnySession, targets: list[str]) -> set[tuple[str, MessageKind]]:
    found: set[tuple[str, MessageKind]] = set()
    for start in range(0, len(targets), CHUNK):
        found.update(
            session.execute(
                sa.select(PatientMessage.target, PatientMessage.kind).where(
                    PatientMessage.target.in_(targets[start : start + CHUNK])
                )
            ).tuples()
        )
    return found


def _row(patient_id: int, kind: MessageKind, target: str, due: datetime, now: datetime, **extra):
    return {
        "patient_id": patient_id,
        "kind": kind,
        "target": target,
        "due_at": due,
        "status": SendStatus.PLANNED,
        "attempts": 0,
        "created_at": now,
        "appointment_id": extra.get("appointment_id"),
        "visit_starts_at": extra.get("visit_starts_at"),
    }


def visit_target(appointment_id: int) -> str:
    return f"appt:{appointment_id}"


def booking_query(now: datetime) -> sa.Select:
    """Bookings made lately, still booked and to come (ix_appointment_created_at)."""
    return sa.select(
        Appointment.id,
        Appointment.patient_id,
        Appointment.starts_at,
        Appointment.rescheduled_from_id,
    ).where(
        Appointment.created_at >= now - BOOKED_LOOKBACK,
        Appointment.status == Status.BOOKED,
        Appointment.starts_at > now,
    )


def upcoming_query(now: datetime, days: int) -> sa.Select:
    """Booked visits of the next `days` days (ix_appointment_starts_at)."""
    return sa.select(
        Appointment.id, Appointment.patient_id, Appointment.starts_at, Appointment.kind
    ).where(
        Appointment.starts_at > now,
        Appointment.starts_at < now + timedelta(days=days),
        Appointment.status == Status.BOOKED,
    )


def questionnaire_query(today: date, closing_days: int) -> sa.Select:
    """Open questionnaire sets that open now or close soon (their date indexes)."""
    return (
        sa.select(
            QuestionnaireResponse.patient_id,
            QuestionnaireResponse.available_from,
            sa.func.min(QuestionnaireResponse.due_by),
        )
        .where(
            QuestionnaireResponse.status.in_(OPEN_RESPONSE),
            sa.or_(
                QuestionnaireResponse.available_from.between(today - timedelta(days=1), today),
                QuestionnaireResponse.due_by.between(today, today + timedelta(days=closing_days)),
            ),
        )
        .group_by(QuestionnaireResponse.patient_id, QuestionnaireResponse.available_from)
    )


def recall_query(today: date) -> sa.Select:
    """Follow-ups that fell due lately, still scheduled and not booked (ix_follow_up_due_on)."""
    # the live-status condition written as the partial unique index states it, so SQLite
    # (which matches the index's WHERE by its terms) uses uq_appointment_live_follow_up too
    booked = sa.select(Appointment.id).where(
        Appointment.follow_up_id == FollowUp.id,
        Appointment.follow_up_id.is_not(None),
        sa.text(LIVE_SQL),
    )
    return (
        sa.select(FollowUp.id, FollowUp.patient_id)
        .join(Journey, Journey.id == FollowUp.journey_id)
        .where(
            FollowUp.due_on.between(today - timedelta(days=RECALL_LOOKBACK_DAYS), today),
            FollowUp.window_closes_on >= today,
            FollowUp.status == FollowUpStatus.SCHEDULED,
            Journey.status.in_(OPEN_JOURNEY),
            ~booked.exists(),
        )
    )


def stale_visit_messages() -> sa.Update:
    """Planned visit messages whose visit is no longer booked at that time: skipped."""
    visit = sa.select(Appointment.id).where(
        Appointment.id == PatientMessage.appointment_id,
        sa.or_(
            Appointment.status != Status.BOOKED,
            Appointment.starts_at != PatientMessage.visit_starts_at,
        ),
    )
    return (
        sa.update(PatientMessage)
        .where(
            PatientMessage.status == SendStatus.PLANNED,
            PatientMessage.appointment_id.is_not(None),
            visit.exists(),
        )
        .values(status=SendStatus.SKIPPED, note="The visit was cancelled or moved.")
        .execution_options(synchronize_session=False)
    )


def plan(session: AnySession, now: datetime | None = None) -> PlanResult:
    """Write the messages that have become due to plan (in `session`; the caller commits)."""
    now = now or utcnow()
    tz = ZoneInfo(current_app.config["CLINIC_TIMEZONE"])
    rules = services.settings(session)
    today = now.astimezone(tz).date()
    result = PlanResult()
    result.skipped = rowcount(session.execute(stale_visit_messages()))
    wanted: list[dict] = []

    booked = session.execute(booking_query(now)).all()
    horizon = max(r.days_before for r in reminder_rules(rules)) + 2
    upcoming = session.execute(upcoming_query(now, horizon)).all()
    targets = sorted({visit_target(r.id) for r in booked} | {visit_target(r.id) for r in upcoming})
    have = _existing(session, targets)

    for appt_id, patient_id, starts_at, moved_from in booked:
        kind = MessageKind.CHANGE_NOTICE if moved_from else MessageKind.CONFIRMATION
        target = visit_target(appt_id)
        if (target, kind) in have:
            continue
        due = outside_quiet_hours(now, rules, tz)
        if due < starts_at:
            wanted.append(
                _row(patient_id, kind, target, due, now, appointment_id=appt_id,
                     visit_starts_at=starts_at)
            )  # fmt: skip
    for appt_id, patient_id, starts_at, visit_kind in upcoming:
        target = visit_target(appt_id)
        for rule in reminder_rules(rules):
            if (target, rule.kind) in have:
                continue
            if rule.procedures_only and visit_kind.value != "procedure":
                continue
            reminder_at = reminder_due(starts_at, rule, rules, tz, now)
            if reminder_at is not None:
                wanted.append(
                    _row(patient_id, rule.kind, target, reminder_at, now, appointment_id=appt_id,
                         visit_starts_at=starts_at)
                )  # fmt: skip

    for patient_id, opens_on, closes_on in session.execute(
        questionnaire_query(today, rules.closing_days)
    ).all():
        target = f"qset:{patient_id}:{opens_on.isoformat()}"
        if opens_on >= today - timedelta(days=1) and (closes_on is None or closes_on >= today):
            due = outside_quiet_hours(
                max(local_at(max(opens_on, today), rules.send_hour, tz), now), rules, tz
            )
            wanted.append(_row(patient_id, MessageKind.QUESTIONNAIRE_OPEN, target, due, now))
        if closes_on is not None and today <= closes_on <= today + timedelta(
            days=rules.closing_days
        ):
            send_day = max(closes_on - timedelta(days=rules.closing_days), today)
            due = outside_quiet_hours(max(local_at(send_day, rules.send_hour, tz), now), rules, tz)
            wanted.append(_row(patient_id, MessageKind.QUESTIONNAIRE_CLOSING, target, due, now))

    for follow_up_id, patient_id in session.execute(recall_query(today)).all():
        due = outside_quiet_hours(max(local_at(today, rules.send_hour, tz), now), rules, tz)
        wanted.append(_row(patient_id, MessageKind.RECALL, f"fu:{follow_up_id}", due, now))

    result.planned = _insert(session, wanted)
    for row in wanted:
        result.by_kind[row["kind"].value] = result.by_kind.get(row["kind"].value, 0) + 1
    return result


# --- sending ---------------------------------------------------------------------------------


def _due(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        sa.and_(PatientMessage.status == SendStatus.PLANNED, PatientMessage.due_at <= now),
        sa.and_(PatientMessage.status == SendStatus.SENDING, PatientMessage.lease_until < now),
    )


def claim_next(session: AnySession, worker: str, now: datetime) -> int | None:
    """Give the next due message to `worker` (one statement); its id, or None."""
    next_id = (
        sa.select(PatientMessage.id)
        .where(_due(now))
        .order_by(PatientMessage.due_at, PatientMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    row = session.execute(
        sa.update(PatientMessage)
        .where(PatientMessage.id == next_id, _due(now))
        .values(
            status=SendStatus.SENDING,
            claimed_by=worker,
            lease_until=now + LEASE,
            attempts=PatientMessage.attempts + 1,
        )
        .returning(PatientMessage.id)
        .execution_options(synchronize_session=False)
    ).first()
    return None if row is None else row[0]


def _settle(message: PatientMessage, status: SendStatus, note: str | None = None) -> None:
    message.status = status
    message.claimed_by = message.lease_until = None
    message.note = note[:300] if note else None
    if status is SendStatus.SENT:
        message.sent_at = utcnow()
        message.body = None  # the links inside are credentials


def _skip(message: PatientMessage, why: str) -> str:
    _settle(message, SendStatus.SKIPPED, why)
    return "skipped"


def _clinic_date(value: datetime, tz: ZoneInfo) -> tuple[str, str]:
    local = value.astimezone(tz)
    hour = local.strftime("%I").lstrip("0")
    return local.strftime(
        "%A %-d %B %Y"
    ), f"{hour}:{local.strftime('%M')} {local.strftime('%p').lower()}"


def _still_wanted(
    session: AnySession, message: PatientMessage, now: datetime, today: date
) -> tuple[str | None, Appointment | None]:
    """Why the message must not go any more (None: it may), and its appointment."""
    kind = message.kind
    if kind.about_visit:
        appt = session.get(Appointment, message.appointment_id)
        if appt is not None and appt.status not in (Status.BOOKED, Status.CANCELLED):
            return "The visit has begun or is over.", appt
        if appt is None or appt.status is not Status.BOOKED:
            moved = appt is not None and appt.rescheduled_to is not None
            return ("The visit was moved: a change notice goes instead." if moved
                    else "The visit was cancelled."), appt  # fmt: skip
        if appt.starts_at != message.visit_starts_at:
            return "The visit was moved: a change notice goes instead.", appt
        if appt.starts_at <= now:
            return "The visit time has come.", appt
        return None, appt
    if kind in (MessageKind.QUESTIONNAIRE_OPEN, MessageKind.QUESTIONNAIRE_CLOSING):
        opens_on = date.fromisoformat(message.target.rsplit(":", 1)[1])
        still_open = session.scalar(
            sa.select(sa.func.count()).where(
                QuestionnaireResponse.patient_id == message.patient_id,
                QuestionnaireResponse.available_from == opens_on,
                QuestionnaireResponse.status.in_(OPEN_RESPONSE),
                sa.or_(
                    QuestionnaireResponse.due_by.is_(None), QuestionnaireResponse.due_by >= today
                ),
            )
        )
        return (None if still_open else "The questionnaires were answered or closed."), None
    if kind is MessageKind.RECALL:
        follow_up = session.get(FollowUp, int(message.target.split(":")[1]))
        if follow_up is None or follow_up.status is not FollowUpStatus.SCHEDULED:
            return "The follow-up is no longer due.", None
        booked = session.scalar(
            sa.select(sa.func.count()).where(
                Appointment.follow_up_id == follow_up.id, Appointment.status.in_(LIVE_STATUSES)
            )
        )
        return ("The follow-up was booked." if booked else None), None
    if kind is MessageKind.REPLY_WAITING:
        thread = session.get(Thread, int(message.target.split(":")[1]))
        if thread is None or not thread.unread_by_patient:
            return "The patient has read the reply already.", None
    return None, None


def _therapy_of(appt: Appointment | None) -> str:
    if appt is None:
        return ""
    holder = appt.stage or appt.follow_up
    journey = getattr(holder, "journey", None)
    return journey.therapy.value if journey is not None else ""


def _external(endpoint: str, **values: Any) -> str:
    # The worker has no request: the public address, or in development the default one.
    base = (current_app.config["PUBLIC_BASE_URL"] or DEVELOPMENT_BASE_URL).rstrip("/")
    with current_app.test_request_context("/"):
        return base + url_for(endpoint, **values)


def _values(
    session: AnySession, message: PatientMessage, appt: Appointment | None, tz: ZoneInfo
) -> dict[str, str]:
    config = current_app.config
    patient = message.patient
    values = {
        "first_name": patient.given_name,
        "clinic": config["CLINIC_NAME"],
        "clinic_phone": config["CLINIC_PHONE"],
        "opt_out": "To stop these messages, open "
        + _external("messaging.opt_out", token=services.opt_out_token(patient.id)),
    }
    if message.kind is MessageKind.REPLY_WAITING:
        values["portal"] = _external("messaging.my_messages")
    elif message.kind in (MessageKind.QUESTIONNAIRE_OPEN, MessageKind.QUESTIONNAIRE_CLOSING):
        values["portal"] = _external("outcomes.my_questionnaires")
        opens_on = date.fromisoformat(message.target.rsplit(":", 1)[1])
        due_by = session.scalar(
            sa.select(sa.func.min(QuestionnaireResponse.due_by)).where(
                QuestionnaireResponse.patient_id == patient.id,
                QuestionnaireResponse.available_from == opens_on,
                QuestionnaireResponse.status.in_(OPEN_RESPONSE),
            )
        )
        values["due_date"] = due_by.strftime("%A %-d %B") if due_by else "as soon as you can"
    if appt is not None:
        values["date"], values["time"] = _clinic_date(appt.starts_at, tz)
        values["visit"] = appt.kind.label.lower()
        place = [config["CLINIC_NAME"]]
        if config["CLINIC_ADDRESS"]:
            place.append(config["CLINIC_ADDRESS"])
        if appt.room is not None:
            place.append(appt.room.name)
        elif appt.kind.value in ("follow_up", "phone_check"):
            place.append("by phone or video: we will contact you")
        values["place"] = ", ".join(place)
        if appt.rescheduled_from is not None:
            values["old_date"], values["old_time"] = _clinic_date(
                appt.rescheduled_from.starts_at, tz
            )
        token = links.issue(session, appt.id, appt.starts_at)
        link = _external("messaging.visit_link", appointment_id=appt.id, token=token)
        values["link"] = link
        values["links"] = (
            "To confirm, cancel or ask for another time, open this link (it works once):\n" + link
        )
    return values


def prepare(
    session: AnySession,
    worker: str,
    message_id: int,
    now: datetime,
    book: services.TemplateBook,
    rules: MessagingSettings,
    tz: ZoneInfo,
) -> tuple[str, PatientMessage]:
    """Check, write and (for e-mail and the SMS outbox) send one claimed message in `session`.
    Returns the outcome: sent, skipped, deferred, or 'http' when a text waits for Twilio."""
    # locked while it is written, and only while this worker still holds the claim (a lease
    # that ran out may have passed it to another worker, who then sends it instead)
    message = session.get(PatientMessage, message_id, with_for_update=True, populate_existing=True)
    assert message is not None
    if message.status is not SendStatus.SENDING or message.claimed_by != worker:
        return "lost", message
    if in_quiet_hours(now, rules, tz):
        message.status, message.claimed_by, message.lease_until = SendStatus.PLANNED, None, None
        message.due_at = outside_quiet_hours(now, rules, tz)
        message.attempts = max(message.attempts - 1, 0)
        return "deferred", message
    if message.body is not None and message.channel is Channel.SMS:
        return "http", message  # a text written earlier, waiting for its next attempt
    why, appt = _still_wanted(session, message, now, now.astimezone(tz).date())
    if why:
        return _skip(message, why), message
    patient = session.get(Patient, message.patient_id)
    assert patient is not None
    consent = services.consent_of(patient, session.get(MessagePreference, patient.id))
    channel, why = services.choose_channel(patient, consent)
    if channel is None:
        return _skip(message, why), message
    template = book.pick(message.kind, appt.kind.value if appt else "", _therapy_of(appt))
    values = _values(session, message, appt, tz)
    message.template_id, message.channel = template.id, channel
    if channel is Channel.EMAIL:
        assert patient.email
        subject = services.fill(template.subject, values)
        body = services.fill(template.body, values)
        message.recipient, message.subject = patient.email, subject[:150]
        message.outgoing_message_id = transports.email_into(session, patient.email, subject, body)
        _settle(message, SendStatus.SENT)
        return "sent", message
    if not consent.sms_detail_ok and "visit" in values:
        values["visit"] = "appointment"
    text = services.fill(template.sms_body, values)
    message.recipient, message.subject = patient.phone, None
    sms = transports.sms_transport()
    if sms.in_transaction:
        sms.send(session, patient.phone or "", text)
        _settle(message, SendStatus.SENT)
        return "sent", message
    message.body = text
    return "http", message


@contextmanager
def _transaction(app: Flask) -> Iterator[Session]:
    """One short transaction of the sender's own (never a request's)."""
    with app.app_context():
        session = Session(bind=db.engine, join_transaction_mode="create_savepoint")
        try:
            begin_write(session)
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def worker_name() -> str:
    return f"messages:{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Sender:
    """Plans and sends patient messages for one app; several may run at once."""

    def __init__(self, app: Flask, name: str | None = None) -> None:
        self.app = app
        self.name = name or worker_name()

    def plan(self, now: datetime | None = None) -> PlanResult:
        with _transaction(self.app) as session:
            return plan(session, now)

    def send_due(self, now: datetime | None = None, limit: int = 100) -> int:
        """Send up to `limit` due messages (none while sending is paused); the number handled."""
        handled = 0
        with self.app.app_context():
            tz = ZoneInfo(self.app.config["CLINIC_TIMEZONE"])
            max_attempts = self.app.config["JOBS_MAX_ATTEMPTS"]
        book: services.TemplateBook | None = None
        while handled < limit:
            moment = now or utcnow()
            with _transaction(self.app) as session:
                rules = services.settings(session)
                if rules.paused:
                    break
                message_id = claim_next(session, self.name, moment)
                if message_id is None:
                    break
                book = book or services.TemplateBook(session)
            try:
                with _transaction(self.app) as session:
                    rules = services.settings(session)
                    outcome, message = prepare(
                        session, self.name, message_id, moment, book, rules, tz
                    )
                    text = (message.recipient or "", message.body or "")
            except sa.exc.OperationalError:
                raise  # the database is gone: the claim's lease brings the message back
            except Exception:
                # a message that cannot be written (e.g. no wording for it) must not block the
                # queue: it is marked failed for an admin to see on the patient's page
                logger.exception("patient message could not be prepared")
                with _transaction(self.app) as session:
                    failed = session.get(PatientMessage, message_id)
                    if failed is not None and failed.claimed_by == self.name:
                        _settle(failed, SendStatus.FAILED, "The message could not be written.")
                handled += 1
                continue
            handled += 1
            if outcome == "http":
                self._send_text(message_id, *text, max_attempts=max_attempts, now=moment)
        return handled

    def _send_text(
        self, message_id: int, to: str, body: str, max_attempts: int, now: datetime
    ) -> None:
        error: transports.SmsFailure | None = None
        with self.app.app_context():
            try:
                transports.sms_transport().send(None, to, body)
            except transports.SmsFailure as err:
                error = err
            config = self.app.config
            retry_base, retry_max = (
                config["JOBS_RETRY_BASE_SECONDS"],
                config["JOBS_RETRY_MAX_SECONDS"],
            )
        with _transaction(self.app) as session:
            message = session.get(PatientMessage, message_id)
            if message is None or message.claimed_by != self.name:
                logger.warning("text message settled after its claim expired")
                return
            if error is None:
                _settle(message, SendStatus.SENT)
            elif error.permanent or message.attempts >= max_attempts:
                _settle(message, SendStatus.FAILED, str(error))
            else:
                _settle(message, SendStatus.PLANNED, str(error))
                message.due_at = now + backoff(message.attempts, retry_base, retry_max)

    def run_once(self, now: datetime | None = None) -> int:
        self.plan(now)
        return self.send_due(now)


PLAN_EVERY = timedelta(seconds=60)


class WorkerPass:
    """The messaging step of `flask worker`'s loop: plan every minute, send every turn."""

    def __init__(self) -> None:
        self.last_plan: dict[str, datetime] = {}

    def __call__(self, worker) -> int:
        sender = Sender(worker.app, name=f"messages:{worker.name}")
        now = utcnow()
        last = self.last_plan.get(worker.name)
        if last is None or now - last >= PLAN_EVERY:
            sender.plan(now)
            self.last_plan[worker.name] = now
        return sender.send_due()
