"""What an appointment is for in the patient's clinical journey: a stage or a follow-up.

The only scheduling module that reads the journeys wing (read-only). Front desk sees the
stage's name and status and the follow-up's label and window, never clinical content.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from clinic.errors import Refused
from clinic.extensions import db
from clinic.journeys.models import FollowUp, FollowUpStatus, Journey, Stage
from clinic.journeys.states import DONE_STAGE, OPEN_JOURNEY, StageKind, StageStatus
from clinic.patients.models import Patient
from clinic.reads import on_postgresql, one_of
from clinic.scheduling.models import LIVE_STATUSES, Appointment, Status, VisitKind
from clinic.timeutil import clinic_day_bounds

if TYPE_CHECKING:
    from clinic.scheduling.board import Visit

OPEN_STAGE = (StageStatus.PENDING, StageStatus.IN_PROGRESS)
# A phone call a day or two after the injection; later follow-ups are visits.
PHONE_CHECK_MAX_DAYS = 3


def visit_kind_for(follow_up: FollowUp, due_days: int | None) -> VisitKind:
    """A phone check for the day 1-2 call, a follow-up visit for everything later."""
    if due_days is not None:
        return VisitKind.PHONE_CHECK if due_days <= PHONE_CHECK_MAX_DAYS else VisitKind.FOLLOW_UP
    label = follow_up.label.lower()
    return VisitKind.PHONE_CHECK if ("phone" in label or "call" in label) else VisitKind.FOLLOW_UP


def stage_fits(stage: Stage, kind: VisitKind) -> bool:
    """An evaluation stage is an evaluation visit; collection to recovery is the procedure."""
    if stage.kind is StageKind.EVALUATION:
        return kind is VisitKind.EVALUATION
    return kind is VisitKind.PROCEDURE


def live_booking_of(follow_up_id: int, exclude_id: int | None = None) -> Appointment | None:
    query = sa.select(Appointment).where(
        Appointment.follow_up_id == follow_up_id, Appointment.status.in_(LIVE_STATUSES)
    )
    if exclude_id is not None:
        query = query.where(Appointment.id != exclude_id)
    return db.session.scalar(query.limit(1))


def check_link(
    patient: Patient,
    kind: VisitKind,
    *,
    follow_up: FollowUp | None,
    stage: Stage | None,
    replacing: Appointment | None = None,
) -> None:
    """Refuse a link to another patient's journey, to a closed one, or to the wrong visit."""
    if follow_up is not None:
        if follow_up.patient_id != patient.id:
            raise Refused("That follow-up belongs to another patient.", "link")
        if follow_up.status is not FollowUpStatus.SCHEDULED:
            raise Refused(f"That follow-up is already {follow_up.status.value}.", "link")
        if kind not in (VisitKind.FOLLOW_UP, VisitKind.PHONE_CHECK):
            raise Refused("A follow-up is booked as a follow-up visit or a phone check.", "link")
        if live_booking_of(follow_up.id, replacing.id if replacing else None) is not None:
            raise Refused("That follow-up is already booked.", "link")
    if stage is not None:
        if stage.journey.patient_id != patient.id:
            raise Refused("That stage belongs to another patient's journey.", "link")
        if stage.status not in OPEN_STAGE or stage.journey.status not in OPEN_JOURNEY:
            raise Refused("That stage is no longer open.", "link")
        if not stage_fits(stage, kind):
            wanted = "an evaluation" if stage.kind is StageKind.EVALUATION else "a procedure"
            raise Refused(
                f"The {stage.kind.label.lower()} stage is booked as {wanted} visit.", "link"
            )


def still_open(appointment: Appointment) -> dict:
    """The appointment's follow-up and stage, each kept only while it is still open."""
    follow_up, stage = appointment.follow_up, appointment.stage
    if follow_up is not None and follow_up.status is not FollowUpStatus.SCHEDULED:
        follow_up = None
    if stage is not None and (
        stage.status not in OPEN_STAGE or stage.journey.status not in OPEN_JOURNEY
    ):
        stage = None
    return dict(follow_up=follow_up, stage=stage)


def link_choices(patient: Patient | None, keep: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """The booking form's choices: the patient's open stages and unbooked follow-ups
    (values "stage:<id>" / "follow_up:<id>"); `keep` values stay offered (a reschedule)."""
    choices = [("", "Not linked")]
    if patient is None:
        return choices
    stages = db.session.scalars(
        sa.select(Stage)
        .join(Journey, Journey.id == Stage.journey_id)
        .options(joinedload(Stage.journey), joinedload(Stage.cycle))
        .where(
            Journey.patient_id == patient.id,
            Journey.status.in_(OPEN_JOURNEY),
            Stage.status.in_(OPEN_STAGE),
        )
        .order_by(Stage.id)
    ).all()
    for stage in stages:
        choices.append((f"stage:{stage.id}", f"{stage.title}: {stage.status.label.lower()}"))
    booked = sa.select(Appointment.follow_up_id).where(
        Appointment.follow_up_id.is_not(None), Appointment.status.in_(LIVE_STATUSES)
    )
    follow_ups = db.session.scalars(
        sa.select(FollowUp)
        .where(
            FollowUp.patient_id == patient.id,
            FollowUp.status == FollowUpStatus.SCHEDULED,
            sa.or_(
                FollowUp.id.not_in(booked),
                FollowUp.id.in_([int(v.split(":")[1]) for v in keep if "follow_up:" in v]),
            ),
        )
        .order_by(FollowUp.due_on)
    ).all()
    for follow_up in follow_ups:
        window = f"{_d(follow_up.window_opens_on)} to {_d(follow_up.window_closes_on)}"
        choices.append((f"follow_up:{follow_up.id}", f"Follow-up {follow_up.label}: {window}"))
    return choices


def _d(day: date) -> str:
    return day.strftime("%d %b %Y")


def resolve(value: str | None) -> tuple[FollowUp | None, Stage | None]:
    """The follow-up or stage a form value names (the value was checked against the choices)."""
    if not value or ":" not in value:
        return None, None
    kind, _, raw = value.partition(":")
    if not raw.isdigit():
        return None, None
    if kind == "follow_up":
        return db.session.get(FollowUp, int(raw)), None
    if kind == "stage":
        return None, db.session.get(Stage, int(raw))
    return None, None


def value_of(appointment: Appointment) -> str:
    if appointment.follow_up_id:
        return f"follow_up:{appointment.follow_up_id}"
    if appointment.stage_id:
        return f"stage:{appointment.stage_id}"
    return ""


def offer_links(form, patient: Patient | None) -> None:
    """Fill the booking form's link choices for this patient (none when it is unknown)."""
    form.link.choices = link_choices(patient)


def read_link(form, patient: Patient) -> dict | None:
    """The chosen follow-up / stage as booking arguments; None (error beside the field) when
    the value is not one of this patient's open links (e.g. the MRN was changed)."""
    value = form.link.data or ""
    if value and value not in {v for v, _ in form.link.choices}:
        form.link.errors.append("Choose one of this patient's open stages or follow-ups.")
        return None
    follow_up, stage = resolve(value)
    return dict(follow_up=follow_up, stage=stage)


STAGE_LOCATIONS = {
    StageKind.EVALUATION: "In evaluation",
    StageKind.COLLECTION: "In collection",
    StageKind.PROCESSING: "Processing (product being prepared)",
    StageKind.INJECTION: "In procedure",
    StageKind.RECOVERY: "In recovery",
}
# Recovery is signed off but the visit is still open: the board says so (and offers Complete)
# rather than "Discharged" beside a visit that is not complete.
DISCHARGED = "Recovery done, ready to leave"


@functools.cache
def _stages_query(postgresql: bool) -> sa.Select:
    """Today's stages of these patients (:ids) that say where they are: in progress, or a
    recovery completed (built once: building it each request cost ~0.5 ms)."""
    start: sa.BindParameter[datetime] = sa.bindparam("start")
    end: sa.BindParameter[datetime] = sa.bindparam("end")
    return (
        sa.select(Journey.patient_id, Stage.kind, Stage.status, Stage.started_at)
        .join(Journey, Journey.id == Stage.journey_id)
        .where(
            one_of(Journey.patient_id, "ids", postgresql=postgresql),
            sa.or_(
                sa.and_(
                    Stage.status == StageStatus.IN_PROGRESS,
                    Stage.started_at >= start,
                    Stage.started_at < end,
                ),
                sa.and_(
                    Stage.kind == StageKind.RECOVERY,
                    Stage.status.in_(DONE_STAGE),
                    Stage.completed_at >= start,
                    Stage.completed_at < end,
                ),
            ),
        )
        .order_by(Stage.started_at, Stage.id)
    )


def stage_locations(appointments: Sequence[Visit], day: date) -> dict[int, str]:
    """For arrived patients: the journey stage in progress today (the latest started), or
    discharged once today's recovery is completed. One query for the whole board."""
    present = [a for a in appointments if a.status in (Status.CHECKED_IN, Status.IN_PROGRESS)]
    if not present:
        return {}
    start, end = clinic_day_bounds(day)
    rows = db.session.execute(
        _stages_query(on_postgresql()),
        {"ids": list({a.patient_id for a in present}), "start": start, "end": end},
    ).all()
    by_patient: dict[int, str] = {}
    for patient_id, kind, status, _started in rows:  # later stages overwrite earlier ones
        if status is StageStatus.IN_PROGRESS:
            by_patient[patient_id] = STAGE_LOCATIONS[kind]
        else:
            by_patient.setdefault(patient_id, DISCHARGED)
    return {a.id: by_patient[a.patient_id] for a in present if a.patient_id in by_patient}
