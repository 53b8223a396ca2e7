"""Messages the clinic sends patients, the patients' answers, and secure portal messages.

- `MessageTemplate`: versioned wording per message kind, visit kind and therapy (admin-edited).
- `MessagingSettings`: one row: the pause switch, quiet hours, reminder offsets, office hours.
- `MessagePreference`: a patient's consent per channel, opt-out, clinical detail by text.
- `PatientMessage`: one row per (target, kind), unique, so nothing is sent twice; planned by
  the scheduler, claimed and sent by the worker only.
- `AppointmentLink`: the confirm / cancel / reschedule link of a message (hashed, single use).
- `PatientReply`: what a patient answered from such a link (the board and front desk read it).
- `SmsOutboxMessage`: text messages kept locally in development (SMS_TRANSPORT=outbox).
- `Thread` / `ThreadMessage`: a patient's secure messages with the care team.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from clinic.extensions import Model
from clinic.models.base import UTCDateTime, enum_column, utcnow
from clinic.patients.models import Patient


class MessageKind(enum.Enum):
    CONFIRMATION = "confirmation"
    REMINDER_MEDICINE = "reminder_medicine"
    REMINDER_FASTING = "reminder_fasting"
    REMINDER_DAY_BEFORE = "reminder_day_before"
    QUESTIONNAIRE_OPEN = "questionnaire_open"
    QUESTIONNAIRE_CLOSING = "questionnaire_closing"
    RECALL = "recall"
    CHANGE_NOTICE = "change_notice"
    REPLY_WAITING = "reply_waiting"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]

    @property
    def about_visit(self) -> bool:
        return self in VISIT_KINDS


KIND_LABELS = {
    MessageKind.CONFIRMATION: "Booking confirmation",
    MessageKind.REMINDER_MEDICINE: "Reminder: medicine pauses (before a procedure)",
    MessageKind.REMINDER_FASTING: "Reminder: fasting and a driver (before a procedure)",
    MessageKind.REMINDER_DAY_BEFORE: "Reminder: the day before a visit",
    MessageKind.QUESTIONNAIRE_OPEN: "Questionnaires are ready",
    MessageKind.QUESTIONNAIRE_CLOSING: "Questionnaires close soon",
    MessageKind.RECALL: "Follow-up due, not booked",
    MessageKind.CHANGE_NOTICE: "Visit moved",
    MessageKind.REPLY_WAITING: "A reply is waiting in the portal",
}
VISIT_KINDS = frozenset(
    {
        MessageKind.CONFIRMATION,
        MessageKind.REMINDER_MEDICINE,
        MessageKind.REMINDER_FASTING,
        MessageKind.REMINDER_DAY_BEFORE,
        MessageKind.CHANGE_NOTICE,
    }
)


class Channel(enum.Enum):
    EMAIL = "email"
    SMS = "sms"

    @property
    def label(self) -> str:
        return {"email": "E-mail", "sms": "Text message"}[self.value]


class SendStatus(enum.Enum):
    PLANNED = "planned"  # waiting for its time
    SENDING = "sending"  # claimed by one worker until lease_until
    SENT = "sent"  # handed to the channel (e-mail queue or SMS provider)
    FAILED = "failed"  # the provider refused it for good, or attempts ran out
    SKIPPED = "skipped"  # not sent: visit cancelled or moved, opted out, no address, …

    @property
    def label(self) -> str:
        return self.value.capitalize()


# Visit kinds and therapies a template may be specific to ('' = any).
TEMPLATE_VISIT_KINDS = ("", "evaluation", "procedure", "follow_up", "phone_check")
TEMPLATE_THERAPIES = ("", "prp", "bmac", "adipose", "growth_factor")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class MessageTemplate(Model):
    """One version of one message's wording. Never edited in place: a save adds a version."""

    __tablename__ = "message_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MessageKind] = enum_column(MessageKind, "message_kind", nullable=False)
    visit_kind: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="")
    therapy: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="")
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    subject: Mapped[str] = mapped_column(sa.String(150), nullable=False)
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    # Text messages carry no clinical detail unless the patient allowed it.
    sms_body: Mapped[str] = mapped_column(sa.String(480), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    created_by = relationship("User", foreign_keys=[created_by_id], lazy="joined")

    __table_args__ = (
        sa.UniqueConstraint(
            "kind", "visit_kind", "therapy", "version", name="one_number_per_template_version"
        ),
        sa.CheckConstraint(_in("visit_kind", TEMPLATE_VISIT_KINDS), name="known_visit_kind"),
        sa.CheckConstraint(_in("therapy", TEMPLATE_THERAPIES), name="known_therapy"),
        sa.CheckConstraint("version > 0", name="version_positive"),
    )


class MessagingSettings(Model):
    """The clinic's sending rules (one row, id 1)."""

    __tablename__ = "messaging_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    paused: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    quiet_from_hour: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False, default=20)
    quiet_until_hour: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False, default=8)
    send_hour: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False, default=10)
    medicine_days: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False, default=7)
    fasting_days: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False, default=2)
    day_before_days: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False, default=1)
    closing_days: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False, default=2)
    office_hours: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")
    emergency_advice: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )

    __table_args__ = (
        sa.CheckConstraint("id = 1", name="one_row"),
        sa.CheckConstraint("quiet_from_hour BETWEEN 0 AND 23", name="quiet_from_range"),
        sa.CheckConstraint("quiet_until_hour BETWEEN 0 AND 23", name="quiet_until_range"),
        sa.CheckConstraint("send_hour BETWEEN 0 AND 23", name="send_hour_range"),
        sa.CheckConstraint("medicine_days BETWEEN 1 AND 30", name="medicine_days_range"),
        sa.CheckConstraint("fasting_days BETWEEN 1 AND 30", name="fasting_days_range"),
        sa.CheckConstraint("day_before_days BETWEEN 1 AND 30", name="day_before_days_range"),
        sa.CheckConstraint("closing_days BETWEEN 1 AND 30", name="closing_days_range"),
    )


class MessagePreference(Model):
    """What a patient agreed to be sent. No row: e-mail yes; texts only when the patient's
    preferred contact is text messages; no clinical detail by text."""

    __tablename__ = "message_preference"

    patient_id: Mapped[int] = mapped_column(
        sa.ForeignKey("patient.id", ondelete="RESTRICT"), primary_key=True
    )
    email_ok: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    sms_ok: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    sms_detail_ok: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opted_out_how: Mapped[str | None] = mapped_column(sa.String(40))
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )

    __table_args__ = (
        sa.CheckConstraint(
            "(opted_out_at IS NULL) = (opted_out_how IS NULL)", name="opt_out_has_how"
        ),
    )


class PatientMessage(Model):
    """One message to one patient about one thing, planned ahead and sent by the worker.

    (target, kind) is unique: however many schedulers run, a booking gets one confirmation,
    one day-before reminder, and so on. The body is written when it is sent, never kept for
    e-mail (the links inside are credentials); a failed text keeps it until retried."""

    __tablename__ = "patient_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        sa.ForeignKey("patient.id", ondelete="RESTRICT"), nullable=False
    )
    kind: Mapped[MessageKind] = enum_column(MessageKind, "message_kind", nullable=False)
    target: Mapped[str] = mapped_column(sa.String(60), nullable=False)
    appointment_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("appointment.id", ondelete="RESTRICT")
    )
    # The visit's start when planned: a visit moved since is never reminded of the old time.
    visit_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    status: Mapped[SendStatus] = enum_column(
        SendStatus, "send_status", nullable=False, default=SendStatus.PLANNED
    )
    channel: Mapped[Channel | None] = enum_column(Channel, "message_channel", nullable=True)
    recipient: Mapped[str | None] = mapped_column(sa.String(254))
    subject: Mapped[str | None] = mapped_column(sa.String(150))
    body: Mapped[str | None] = mapped_column(sa.Text)
    template_id: Mapped[int | None] = mapped_column(sa.ForeignKey("message_template.id"))
    outgoing_message_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("outgoing_message.id", ondelete="SET NULL")
    )
    attempts: Mapped[int] = mapped_column(nullable=False, default=0)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    patient: Mapped[Patient] = relationship(Patient)
    template = relationship("MessageTemplate")
    outgoing = relationship("OutgoingMessage")

    __table_args__ = (
        sa.UniqueConstraint("target", "kind", name="uq_patient_message_once"),
        sa.Index("ix_patient_message_due", "status", "due_at"),
        sa.Index("ix_patient_message_patient", "patient_id", "created_at"),
        sa.Index("ix_patient_message_appointment", "appointment_id"),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        sa.CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name="sent_when_sent"),
        sa.CheckConstraint(
            "(status = 'sending') = (lease_until IS NOT NULL AND claimed_by IS NOT NULL)",
            name="lease_while_sending",
        ),
    )


class SmsOutboxMessage(Model):
    """A text message kept locally instead of being sent (SMS_TRANSPORT=outbox)."""

    __tablename__ = "sms_outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    recipient: Mapped[str] = mapped_column(sa.String(32), nullable=False, index=True)
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)


class ReplyKind(enum.Enum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    RESCHEDULE = "reschedule"

    @property
    def label(self) -> str:
        return {
            "confirmed": "Confirmed by patient",
            "cancelled": "Cancelled by patient",
            "reschedule": "Patient asks to reschedule",
        }[self.value]


class AppointmentLink(Model):
    """The link in a message that lets a patient confirm, cancel or ask to reschedule one
    appointment without signing in. Only its SHA-256 is stored; it works once, until the visit."""

    __tablename__ = "appointment_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("appointment.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_for: Mapped[ReplyKind | None] = enum_column(ReplyKind, "reply_kind", nullable=True)

    __table_args__ = (
        sa.CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        sa.CheckConstraint("(used_at IS NULL) = (used_for IS NULL)", name="used_for_when_used"),
    )


class PatientReply(Model):
    """A patient's answer to a visit message (the latest one counts)."""

    __tablename__ = "patient_reply"

    appointment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("appointment.id", ondelete="RESTRICT"), primary_key=True
    )
    reply: Mapped[ReplyKind] = enum_column(ReplyKind, "reply_kind", nullable=False)
    replied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # The front desk's to-do: cancellations and reschedule requests until someone handles them.
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))

    appointment = relationship("Appointment")
    handled_by = relationship("User", foreign_keys=[handled_by_id])

    __table_args__ = (
        sa.Index("ix_patient_reply_open", "handled_at", "replied_at"),
        sa.CheckConstraint(
            "(handled_at IS NULL) = (handled_by_id IS NULL)", name="handled_has_who"
        ),
    )


class ThreadSubject(enum.Enum):
    QUESTION = "question"
    SIDE_EFFECT = "side_effect"
    APPOINTMENT = "appointment"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "question": "A question",
            "side_effect": "A side effect or symptom",
            "appointment": "An appointment",
            "other": "Something else",
        }[self.value]


class Thread(Model):
    """A conversation a patient started with the care team."""

    __tablename__ = "message_thread"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        sa.ForeignKey("patient.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    subject: Mapped[ThreadSubject] = enum_column(ThreadSubject, "thread_subject", nullable=False)
    title: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    urgent: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    assigned_to_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="RESTRICT"), index=True
    )
    unread_by_team: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    unread_by_patient: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    patient: Mapped[Patient] = relationship(Patient)
    assigned_to = relationship("User", foreign_keys=[assigned_to_id])
    messages: Mapped[list[ThreadMessage]] = relationship(
        back_populates="thread", order_by="ThreadMessage.id", lazy="selectin"
    )

    __table_args__ = (sa.Index("ix_message_thread_inbox", "urgent", "last_message_at"),)


class ThreadMessage(Model):
    """One message in a thread, from the patient or from a member of staff."""

    __tablename__ = "thread_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(
        sa.ForeignKey("message_thread.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    author_id: Mapped[int] = mapped_column(
        sa.ForeignKey("user_account.id", ondelete="RESTRICT"), nullable=False
    )
    from_patient: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    thread: Mapped[Thread] = relationship(back_populates="messages")
    author = relationship("User", foreign_keys=[author_id], lazy="joined")


# What the scheduler's queries need on other wings' tables (declared here, next to the queries
# that use them, so each wing's model file stays its own).
from clinic.outcomes.models import QuestionnaireResponse  # noqa: E402
from clinic.scheduling.models import Appointment  # noqa: E402

sa.Index("ix_appointment_created_at", Appointment.created_at)
sa.Index("ix_questionnaire_response_opens", QuestionnaireResponse.available_from)
sa.Index("ix_questionnaire_response_closes", QuestionnaireResponse.due_by)
