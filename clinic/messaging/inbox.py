"""Secure messages between a patient and the care team.

Who sees a thread follows the care-team rules: providers and clinical staff see the threads of
patients on their care team (`careteam.services.team_patients`) and those assigned to them;
the front desk sees only threads about appointments, for every patient (they see the schedule
of all). Admins and other patients see none. The patient is told a reply is waiting by e-mail
or text (never its content): a `patient_message` row the worker sends.
"""

from __future__ import annotations

import re
from functools import cache
from typing import NamedTuple

import sqlalchemy as sa

from clinic.auth.models import Role, User
from clinic.careteam import services as careteam
from clinic.errors import Refused
from clinic.extensions import db
from clinic.messaging.models import (
    MessageKind,
    PatientMessage,
    SendStatus,
    Thread,
    ThreadMessage,
    ThreadSubject,
)
from clinic.models import audit
from clinic.models.base import UTCDateTime, utcnow
from clinic.patients.models import Patient
from clinic.timeutil import clinic_day_bounds, clinic_today

CLINICAL = frozenset({Role.PROVIDER, Role.CLINICAL_STAFF})
BODY_MAX = 4000
# Words in a patient's message that make it sound urgent (flagged for the worklist at once;
# staff can clear or set the flag themselves).
URGENT_WORDS = re.compile(
    r"\b(fever|bleed\w*|numb\w*|weak(ness)?|bladder|bowel|chest pain|breath\w*|"
    r"can'?t (walk|move|feel)|emergency|pus|swollen|swelling|redness|headache)\b",
    re.IGNORECASE,
)


def sounds_urgent(text: str) -> bool:
    return bool(URGENT_WORDS.search(text))


def visible_to(user: User) -> sa.ColumnElement[bool] | None:
    """The condition on Thread a staff member may see (None: none at all)."""
    if user.role is Role.FRONT_DESK:
        return Thread.subject == ThreadSubject.APPOINTMENT
    if user.role in CLINICAL:
        on_team = Thread.patient_id.in_(careteam.team_patients(user))
        return sa.or_(on_team, Thread.assigned_to_id == user.id)
    return None


def can_see(user: User, thread: Thread) -> bool:
    if user.role is Role.PATIENT:
        return user.patient_id == thread.patient_id
    if user.role is Role.FRONT_DESK:
        return thread.subject is ThreadSubject.APPOINTMENT
    if user.role in CLINICAL:
        return thread.assigned_to_id == user.id or careteam.in_care_team(user, thread.patient_id)
    return False


def inbox(user: User, show: str = "all", limit: int = 200) -> list[Thread]:
    """Urgent first, then unread, then the latest."""
    condition = visible_to(user)
    if condition is None:
        return []
    query = sa.select(Thread).where(condition)
    if show == "unread":
        query = query.where(Thread.unread_by_team.is_(True))
    elif show == "mine":
        query = query.where(Thread.assigned_to_id == user.id)
    return list(
        db.session.scalars(
            query.order_by(
                Thread.urgent.desc(), Thread.unread_by_team.desc(), Thread.last_message_at.desc()
            ).limit(limit)
        )
    )


class UrgentThread(NamedTuple):
    """An urgent thread as the worklist's banner names it (not the thread and patient records:
    each thread's patient was a statement of its own)."""

    id: int
    subject: ThreadSubject
    family_name: str
    given_name: str

    @property
    def patient_name(self) -> str:
        """As `Patient.display_name` writes it: family name first."""
        return f"{self.family_name}, {self.given_name}"


def urgent_for(user: User, limit: int = 10) -> list[UrgentThread]:
    """Urgent threads this clinician may see and no one has answered: top of the worklist."""
    if user.role not in CLINICAL:
        return []
    start, end = clinic_day_bounds(clinic_today())
    params = {"urgent_user": user.id, "urgent_day_start": start, "urgent_day_end": end}
    return [UrgentThread(*row) for row in db.session.execute(_urgent_statement(limit), params)]


@cache
def _urgent_statement(limit: int) -> sa.Select:
    """`urgent_for`'s statement, built once (its cache key too: building it and working out
    the key on every worklist view cost ~2 ms) and run with the user and today's bounds as
    parameters. The same threads as `visible_to` lets a clinician see."""
    user_id = sa.bindparam("urgent_user", type_=sa.Integer)
    start = sa.bindparam("urgent_day_start", type_=UTCDateTime())
    end = sa.bindparam("urgent_day_end", type_=UTCDateTime())
    on_team = Thread.patient_id.in_(careteam.team_patients_of(user_id, start, end))
    return (
        sa.select(Thread.id, Thread.subject, Patient.family_name, Patient.given_name)
        .join(Patient, Patient.id == Thread.patient_id)
        .where(
            sa.or_(on_team, Thread.assigned_to_id == user_id),
            Thread.urgent.is_(True),
            Thread.unread_by_team.is_(True),
        )
        .order_by(Thread.last_message_at)
        .limit(limit)
    )


def threads_of(patient: Patient) -> list[Thread]:
    return list(
        db.session.scalars(
            sa.select(Thread)
            .where(Thread.patient_id == patient.id)
            .order_by(Thread.last_message_at.desc())
        )
    )


def _clean(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise Refused("Write your message.", "body")
    if len(body) > BODY_MAX:
        raise Refused(f"Keep the message under {BODY_MAX} characters.", "body")
    return body


def start(patient_user: User, subject: ThreadSubject, title: str, body: str) -> Thread:
    """A patient writes to the care team."""
    body = _clean(body)
    title = (title or "").strip() or subject.label
    now = utcnow()
    thread = Thread(
        patient_id=patient_user.patient_id,
        subject=subject,
        title=title[:120],
        urgent=sounds_urgent(f"{title} {body}"),
        unread_by_team=True,
        unread_by_patient=False,
        created_at=now,
        last_message_at=now,
    )
    db.session.add(thread)
    db.session.flush()
    db.session.add(
        ThreadMessage(
            thread_id=thread.id, author_id=patient_user.id, from_patient=True, body=body,
            created_at=now,
        )
    )  # fmt: skip
    db.session.flush()
    audit.record(
        "messages.thread_started",
        actor=patient_user,
        obj=thread,
        patient_id=thread.patient_id,
        detail=subject.value + (" (sounds urgent)" if thread.urgent else ""),
    )
    return thread


def reply(thread: Thread, author: User, body: str) -> ThreadMessage:
    """A reply by the patient or the team; a team reply tells the patient one is waiting."""
    body = _clean(body)
    now = utcnow()
    from_patient = author.role is Role.PATIENT
    message = ThreadMessage(
        thread_id=thread.id, author_id=author.id, from_patient=from_patient, body=body,
        created_at=now,
    )  # fmt: skip
    db.session.add(message)
    thread.last_message_at = now
    if from_patient:
        thread.unread_by_team = True
        if sounds_urgent(body):
            thread.urgent = True
    else:
        thread.unread_by_team = False
        thread.unread_by_patient = True
        if thread.assigned_to_id is None and author.role in CLINICAL:
            thread.assigned_to_id = author.id
    db.session.flush()
    if not from_patient:
        # one notice per reply, sent by the worker; it never carries the reply's text
        db.session.add(
            PatientMessage(
                patient_id=thread.patient_id,
                kind=MessageKind.REPLY_WAITING,
                target=f"reply:{thread.id}:{message.id}",
                due_at=now,
                status=SendStatus.PLANNED,
                attempts=0,
                created_at=now,
            )
        )
        db.session.flush()
    audit.record(
        "messages.replied",
        actor=author,
        obj=thread,
        patient_id=thread.patient_id,
    )
    return message


def mark_read(thread: Thread, reader: User) -> None:
    if reader.role is Role.PATIENT:
        thread.unread_by_patient = False
    else:
        thread.unread_by_team = False
    db.session.flush()


def mark_unread(thread: Thread, by: User) -> None:
    thread.unread_by_team = True
    db.session.flush()


def set_urgent(thread: Thread, urgent: bool, by: User) -> None:
    thread.urgent = urgent
    db.session.flush()
    audit.record(
        "messages.urgent_flag",
        actor=by,
        obj=thread,
        patient_id=thread.patient_id,
        detail="set" if urgent else "cleared",
    )


def assignable(thread: Thread) -> list[User]:
    """Clinicians who may take the thread: active providers and clinical staff on the team."""
    team_users = db.session.scalars(
        sa.select(User)
        .where(User.role.in_(CLINICAL), User.active.is_(True))
        .order_by(User.full_name)
    ).all()
    return [u for u in team_users if careteam.in_care_team(u, thread.patient_id)]


def assign(thread: Thread, to: User | None, by: User) -> None:
    if to is not None and (
        to.role not in CLINICAL or not careteam.in_care_team(to, thread.patient_id)
    ):
        raise Refused("Choose someone on the patient's care team.", "assignee")
    thread.assigned_to_id = to.id if to else None
    db.session.flush()
    audit.record(
        "messages.assigned",
        actor=by,
        obj=thread,
        patient_id=thread.patient_id,
        detail=f"to user {to.id}" if to else "unassigned",
    )
