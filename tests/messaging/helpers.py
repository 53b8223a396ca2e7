"""Records and steps shared by the messaging tests."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from clinic.extensions import db
from clinic.mail import OutboxMessage
from clinic.messaging.models import MessageKind, PatientMessage, SendStatus, SmsOutboxMessage
from clinic.messaging.scheduler import Sender
from clinic.patients.models import ContactMethod
from clinic.scheduling.models import Appointment, VisitKind
from tests.factories import PatientFactory
from tests.scheduling.factories import make_appointment

_MISSING = object()


def patient(email=_MISSING, **kw):
    """A patient who prefers e-mail and has an address (unless told otherwise)."""
    person = PatientFactory(**{"preferred_contact": ContactMethod.EMAIL, **kw})
    person.email = f"{person.mrn.lower()}@mail.example.com" if email is _MISSING else email
    db.session.flush()
    return person


def visit(starts_at: datetime, *, booked_at: datetime, kind=VisitKind.FOLLOW_UP, who=None, **kw):
    """A booked visit, made at `booked_at` (the scheduler looks at recent bookings)."""
    appt = make_appointment(starts_at=starts_at, kind=kind, patient=who or patient(), **kw)
    appt.created_at = booked_at
    db.session.flush()
    return appt


def sender(app) -> Sender:
    return Sender(app, name="test-sender")


def messages(
    appt: Appointment | None = None, kind: MessageKind | None = None
) -> list[PatientMessage]:
    query = sa.select(PatientMessage).order_by(PatientMessage.id)
    if appt is not None:
        query = query.where(PatientMessage.appointment_id == appt.id)
    if kind is not None:
        query = query.where(PatientMessage.kind == kind)
    db.session.expire_all()
    return list(db.session.scalars(query))


def one(appt, kind) -> PatientMessage:
    rows = messages(appt, kind)
    assert len(rows) == 1, rows
    return rows[0]


def outbox(to: str) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.recipient == to).order_by(OutboxMessage.id)
        )
    )


def texts(to: str) -> list[SmsOutboxMessage]:
    return list(
        db.session.scalars(
            sa.select(SmsOutboxMessage)
            .where(SmsOutboxMessage.recipient == to)
            .order_by(SmsOutboxMessage.id)
        )
    )


def statuses(appt) -> dict[str, str]:
    return {m.kind.value: m.status.value for m in messages(appt)}


SENT = SendStatus.SENT
SKIPPED = SendStatus.SKIPPED
PLANNED = SendStatus.PLANNED


def follow_up_due(due_on, email: str):
    """A scheduled follow-up of an open PRP journey, due on `due_on` (window ± 2 weeks)."""
    from datetime import timedelta

    from clinic.journeys import models as m
    from tests.scheduling.test_recalls import _journey

    journey, _provider = _journey()
    follow_up = m.FollowUp(
        patient_id=journey.patient_id,
        journey_id=journey.id,
        cycle_id=journey.cycles[0].id,
        label="6 weeks",
        window_opens_on=due_on - timedelta(days=14),
        due_on=due_on,
        window_closes_on=due_on + timedelta(days=14),
    )
    db.session.add(follow_up)
    journey.patient.email = email
    journey.patient.preferred_contact = ContactMethod.EMAIL
    db.session.flush()
    return follow_up


def matrix_records(patient, patient_user, appt) -> dict[str, int]:
    """What the route × role matrix and the form fuzzer need: a thread about an appointment of
    `patient` (on the matrix clinicians' care team), the patient user's own thread, and a
    patient's cancellation waiting for the front desk."""
    from clinic.auth.models import Role, User
    from clinic.messaging import inbox
    from clinic.messaging.models import PatientReply, ReplyKind, ThreadSubject
    from tests.factories import make_user

    account = db.session.scalar(sa.select(User).where(User.patient_id == patient.id))
    account = account or make_user(Role.PATIENT, patient=patient)
    thread = inbox.start(account, ThreadSubject.APPOINTMENT, "Parking", "Where do I park?")
    if patient_user is None or patient_user.role is not Role.PATIENT:
        patient_user = make_user(Role.PATIENT)
    own = inbox.start(patient_user, ThreadSubject.QUESTION, "", "May I shower?")
    db.session.add(PatientReply(appointment_id=appt.id, reply=ReplyKind.RESCHEDULE))
    db.session.flush()
    return dict(thread=thread.id, own_thread=own.id, patient_reply=appt.id)
