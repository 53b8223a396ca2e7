"""Assigning questionnaires, saving and submitting answers, voiding, and reading progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.exc import StaleDataError

from clinic.auth.models import Role, User
from clinic.errors import Refused, StaleWrite
from clinic.extensions import db
from clinic.journeys.models import InjectionRecord, Stage
from clinic.journeys.states import StageKind, StageStatus
from clinic.models import audit
from clinic.models.base import utcnow
from clinic.models.savepoint import is_unique_violation
from clinic.outcomes import scoring
from clinic.outcomes.instruments import Instrument, get_instrument
from clinic.outcomes.models import (
    BASELINE,
    LINE_COLUMNS,
    QuestionnaireAnswer,
    QuestionnaireResponse,
    ResponseLine,
    ResponseStatus,
)
from clinic.outcomes.states import OPEN_RESPONSE, move_response
from clinic.patients.models import Patient
from clinic.timeutil import clinic_today, to_clinic

STALE_ANSWERS = (
    "These answers were changed by someone else since you opened them, so yours were not "
    "saved. Open the questionnaire again to see what is saved now."
)


class Incomplete(Refused):
    """Submitted answers that cannot be scored yet; `problems` says which items."""

    def __init__(self, problems: scoring.Problems):
        super().__init__("Some questions still need an answer.")
        self.problems = problems


def assign(
    patient: Patient,
    codes: list[str],
    *,
    timepoint: str,
    available_from: date,
    due_by: date | None,
    by: User | None,
    journey_id: int | None = None,
    cycle_id: int | None = None,
    follow_up_id: int | None = None,
) -> list[QuestionnaireResponse]:
    """Ask the patient to fill these instruments for a timepoint (open ones are not doubled)."""
    if due_by is not None and due_by < available_from:
        raise Refused("The due date cannot be before the opening date.")
    open_codes = set(
        db.session.scalars(
            sa.select(QuestionnaireResponse.instrument_code).where(
                QuestionnaireResponse.patient_id == patient.id,
                QuestionnaireResponse.timepoint == timepoint,
                QuestionnaireResponse.journey_id.is_(None)
                if journey_id is None
                else QuestionnaireResponse.journey_id == journey_id,
                QuestionnaireResponse.cycle_id.is_(None)
                if cycle_id is None
                else QuestionnaireResponse.cycle_id == cycle_id,
                QuestionnaireResponse.status != ResponseStatus.VOIDED,
            )
        )
    )
    created = []
    for code in codes:
        if code in open_codes:
            continue
        instrument = get_instrument(code)
        response = QuestionnaireResponse(
            patient_id=patient.id,
            instrument_code=code,
            instrument_version=instrument.version,
            timepoint=timepoint,
            journey_id=journey_id,
            cycle_id=cycle_id,
            follow_up_id=follow_up_id,
            available_from=available_from,
            due_by=due_by,
            status=ResponseStatus.ASSIGNED,
            created_by_id=by.id if by else None,
        )
        db.session.add(response)
        created.append(response)
    db.session.flush()
    for response in created:
        audit.record(
            "questionnaire.assigned",
            actor=by,
            obj=response,
            patient_id=patient.id,
            detail=f"{response.instrument_code} at {timepoint}",
        )
    return created


AnyResponse = TypeVar("AnyResponse", QuestionnaireResponse, ResponseLine)


def instrument_of(response: QuestionnaireResponse | ResponseLine) -> Instrument:
    return get_instrument(response.instrument_code, response.instrument_version)


def not_open_yet(response: QuestionnaireResponse, today: date) -> str | None:
    """Why the questionnaire cannot be answered yet (its window opens later), or None."""
    if response.available_from <= today:
        return None
    return f"This questionnaire opens on {response.available_from.strftime('%d %B %Y')}."


def save_answers(
    response: QuestionnaireResponse,
    answers: scoring.Answers,
    *,
    by: User,
    submit: bool,
    version: int | None = None,
) -> None:
    """Store answers (a draft, or the submission that scores and locks the response).

    Every save moves the response's version on, even when only answers change, so a save from
    an older `version` (a second tab, a simultaneous save) is a StaleWrite, never an overwrite.
    """
    if version is not None and version != response.version:
        raise StaleWrite(STALE_ANSWERS)
    if not response.is_open:
        raise Refused("This questionnaire is closed and can no longer change.")
    not_yet = not_open_yet(response, clinic_today())
    if not_yet:
        raise Refused(not_yet)
    instrument = instrument_of(response)
    problems = scoring.check(instrument, answers)
    if problems.invalid:
        raise Incomplete(problems)
    if submit and problems:
        raise Incomplete(problems)
    try:
        with db.session.begin_nested():
            _store(response, instrument, answers, by=by, submit=submit)
            db.session.flush()
    except (StaleDataError, IntegrityError) as err:
        # PostgreSQL: a simultaneous save of the same version committed first
        if isinstance(err, IntegrityError) and not is_unique_violation(err):
            raise
        raise StaleWrite(STALE_ANSWERS) from err
    action = "questionnaire.submitted" if submit else "questionnaire.draft_saved"
    detail = "entered by staff for the patient" if response.on_behalf else None
    audit.record(action, actor=by, obj=response, patient_id=response.patient_id, detail=detail)


def _store(
    response: QuestionnaireResponse,
    instrument: Instrument,
    answers: scoring.Answers,
    *,
    by: User,
    submit: bool,
) -> None:
    existing = {a.item_code: a for a in response.answers}
    for item in instrument.items:
        if item.code not in answers:
            continue
        if item.code in existing:
            existing[item.code].value = answers[item.code]
        else:
            response.answers.append(
                QuestionnaireAnswer(item_code=item.code, value=answers[item.code])
            )
    response.entered_by_id = by.id
    response.on_behalf = by.role is not Role.PATIENT
    response.updated_at = utcnow()  # always an UPDATE of the response, so its version moves
    if submit:
        completed_at = utcnow()
        # Worked out before the status moves: its query would flush a completed row without it.
        in_window = answered_in_window(response, completed_at)
        response.score = scoring.score(instrument, answers)
        move_response(response, ResponseStatus.COMPLETED)
        response.completed_at, response.in_window = completed_at, in_window
    else:
        move_response(response, ResponseStatus.IN_PROGRESS)


def injection_moment(cycle_id: int) -> datetime | None:
    """When the cycle's injection began (None before it is recorded)."""

    row = db.session.execute(
        sa.select(InjectionRecord.procedure_started_at, Stage.completed_at)
        .join(Stage, Stage.id == InjectionRecord.stage_id)
        .where(
            Stage.cycle_id == cycle_id,
            Stage.kind == StageKind.INJECTION,
            Stage.status.in_([StageStatus.COMPLETED, StageStatus.SIGNED]),
        )
        .order_by(Stage.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return row[0] or row[1]


def answered_in_window(response: QuestionnaireResponse, at: datetime) -> bool:
    """A baseline counts when answered before its cycle's injection; any other set when answered
    between its opening day and its due day, both included (clinic calendar days)."""
    if response.timepoint == BASELINE:
        moment = injection_moment(response.cycle_id) if response.cycle_id else None
        return moment is None or at < moment
    day = to_clinic(at).date()
    return response.available_from <= day and (response.due_by is None or day <= response.due_by)


def void(response: QuestionnaireResponse, *, by: User, reason: str) -> None:
    """Withdraw an open questionnaire (e.g. assigned by mistake); it is kept, marked void."""
    if not response.is_open:
        raise Refused("Only questionnaires not yet submitted can be withdrawn.")
    if not reason.strip():
        raise Refused("Give a reason for withdrawing it.")
    move_response(response, ResponseStatus.VOIDED)
    db.session.flush()
    audit.record(
        "questionnaire.voided",
        actor=by,
        obj=response,
        patient_id=response.patient_id,
        detail=reason.strip()[:200],
    )


def responses_for(patient: Patient) -> list[QuestionnaireResponse]:
    """All of a patient's questionnaires, newest first, in one query (lists and progress show
    no answers and no enterer: those load only if something asks for them)."""
    return db.session.scalars(
        sa.select(QuestionnaireResponse)
        .options(
            lazyload(QuestionnaireResponse.answers), lazyload(QuestionnaireResponse.entered_by)
        )
        .where(QuestionnaireResponse.patient_id == patient.id)
        .order_by(QuestionnaireResponse.available_from.desc(), QuestionnaireResponse.id.desc())
    ).all()


# Built once: building and keying a statement costs about as much as running it here.
_LINES = (
    sa.select(*LINE_COLUMNS)
    .where(QuestionnaireResponse.patient_id == sa.bindparam("patient_id"))
    .order_by(QuestionnaireResponse.available_from.desc(), QuestionnaireResponse.id.desc())
)
_OPEN_LINES = _LINES.where(QuestionnaireResponse.status.in_(OPEN_RESPONSE))


def response_lines(patient: Patient, *, open_only: bool = False) -> list[ResponseLine]:
    """The patient's questionnaires as `responses_for` orders them, as read-only lines of the
    columns their lists and progress show (all of them, or only the open ones)."""
    rows = db.session.execute(_OPEN_LINES if open_only else _LINES, {"patient_id": patient.id})
    return [ResponseLine(*row) for row in rows]


def due_now(responses: list[AnyResponse], today: date) -> list[AnyResponse]:
    """Open questionnaires whose window is open today, soonest due first (expired ones drop off)."""
    due = [r for r in responses if r.is_open and r.available_from <= today and not r.expired(today)]
    return sorted(due, key=lambda r: (r.due_by or date.max, r.id))


@dataclass(frozen=True)
class GuidedStep:
    """Where one questionnaire stands in the set the patient answers today: "2 of 3"."""

    position: int
    total: int


def guided_step(
    responses: list[QuestionnaireResponse], current: QuestionnaireResponse, today: date
) -> GuidedStep:
    """The answered-today ones count as done, the due ones (this one included) as to do."""
    done = [
        r
        for r in responses
        if r is not current
        and r.completed_at is not None
        and to_clinic(r.completed_at).date() == today
    ]
    due = due_now(responses, today)
    to_do = len(due) + (0 if current in due else 1)
    return GuidedStep(position=len(done) + 1, total=len(done) + to_do)


def next_due(
    responses: list[QuestionnaireResponse], after: QuestionnaireResponse, today: date
) -> QuestionnaireResponse | None:
    """The next questionnaire of today's set once `after` is answered (None: all done)."""
    return next((r for r in due_now(responses, today) if r is not after), None)


def coming_up(responses: list[AnyResponse], today: date) -> list[AnyResponse]:
    """Open questionnaires that are not available yet, soonest first."""
    later = [r for r in responses if r.is_open and r.available_from > today]
    return sorted(later, key=lambda r: (r.available_from, r.id))


@dataclass
class ProgressPoint:
    timepoint: str
    completed_on: date
    score: Decimal
    change: scoring.Change | None = None
    responder: bool | None = None  # PGIC only
    in_window: bool = True


@dataclass
class InstrumentProgress:
    instrument: Instrument
    baseline: ProgressPoint | None = None
    points: list[ProgressPoint] = field(default_factory=list)

    @property
    def threshold(self) -> Decimal | None:
        if self.baseline is None:
            return None
        return scoring.threshold(self.instrument, self.baseline.score)


def progress(
    responses: list[QuestionnaireResponse] | list[ResponseLine],
) -> list[InstrumentProgress]:
    """Completed scores per instrument in time order, each compared with the baseline."""
    completed = sorted(
        (r for r in responses if r.status is ResponseStatus.COMPLETED),
        key=lambda r: (r.completed_at, r.id),
    )
    by_code: dict[str, InstrumentProgress] = {}
    cycle_baselines: dict[tuple[str, int | None], ProgressPoint] = {}
    for response in completed:
        instrument = instrument_of(response)
        entry = by_code.setdefault(response.instrument_code, InstrumentProgress(instrument))
        completed_on = to_clinic(response.completed_at).date()
        point = ProgressPoint(
            response.timepoint, completed_on, response.score, in_window=bool(response.in_window)
        )
        key = (response.instrument_code, response.cycle_id)
        if instrument.scoring == "pgic":
            point.responder = scoring.pgic_responder(response.score)
        elif response.timepoint == BASELINE:
            if response.in_window:  # a baseline answered after the injection is never used
                entry.baseline = cycle_baselines[key] = point
        else:
            base = cycle_baselines.get(key) if response.cycle_id else entry.baseline
            if base is not None:
                point.change = scoring.change(instrument, base.score, response.score)
        entry.points.append(point)
    order = ["nrs_pain", "nrs_radiating", "odi", "ndi", "pgic"]
    return sorted(
        by_code.values(),
        key=lambda p: order.index(p.instrument.code) if p.instrument.code in order else 99,
    )
