"""Opening journeys, their cycles and their stages; journey-level state changes."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from flask import g, has_request_context

from clinic.auth.models import Role, User
from clinic.errors import NO_PAGE, NoPage, Refused, StaleWrite
from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.models.journey import LEVELS, SIDES, STRUCTURES
from clinic.journeys.services import screening  # a module: the two import each other
from clinic.journeys.states import (
    CYCLE_KINDS,
    JourneyStatus,
    StageKind,
    StageStatus,
    Therapy,
    move_journey,
)
from clinic.models import audit
from clinic.outcomes.journey_hooks import assign_baseline, baseline_for_cycle
from clinic.patients.models import Patient
from clinic.policy import can_open_journey

RECORD_MODELS = {
    StageKind.EVALUATION: m.EvaluationRecord,
    StageKind.COLLECTION: m.CollectionRecord,
    StageKind.PROCESSING: m.ProcessingRecord,
    StageKind.INJECTION: m.InjectionRecord,
    StageKind.RECOVERY: m.RecoveryRecord,
}


def open_journey(
    patient: Patient,
    *,
    therapy: Therapy,
    provider: User,
    condition_ids: Iterable[int],
    targets: Iterable[tuple[str, str, str]],
    by: User,
) -> m.Journey:
    """A new journey in evaluation, with its conditions, target sites and evaluation stage."""
    if not can_open_journey(by):
        raise Refused("Only a provider opens a treatment journey.")
    if provider.role is not Role.PROVIDER or not provider.active:
        raise Refused("Choose an active provider.", field="provider_id")
    if screening.unreviewed_absolutes(patient):
        raise Refused(
            "An absolute contraindication from an earlier journey has not been reviewed: "
            "review it on the chart before opening a new journey."
        )
    conditions = db.session.scalars(
        sa.select(m.Condition).where(m.Condition.id.in_(list(condition_ids)), m.Condition.active)
    ).all()
    if not conditions:
        raise Refused("Choose at least one condition.", field="condition_ids")
    journey = m.Journey(patient=patient, therapy=therapy, provider=provider, opened_by_id=by.id)
    journey.conditions = list(conditions)
    for level, side, structure in targets:
        _check_target(level, side, structure)
        journey.targets.append(m.TargetSite(level=level, side=side, structure=structure))
    db.session.add(journey)
    db.session.flush()
    add_stage(journey, StageKind.EVALUATION, None)
    audit.record(
        "journey.opened", actor=by, obj=journey, patient_id=patient.id, detail=therapy.value
    )

    assign_baseline(journey, by)
    return journey


def _check_target(level: str, side: str, structure: str) -> None:
    if level not in LEVELS or side not in SIDES or structure not in STRUCTURES:
        raise Refused("Choose a level, side and structure for each target.", "targets")


def add_stage(journey: m.Journey, kind: StageKind, cycle: m.Cycle | None) -> m.Stage:
    """A pending stage with its (empty) typed record."""
    stage = m.Stage(journey=journey, cycle=cycle, kind=kind, status=StageStatus.PENDING)
    db.session.add(stage)
    db.session.flush()
    db.session.add(RECORD_MODELS[kind](stage_id=stage.id))
    return stage


def open_cycle(journey: m.Journey, by: User) -> m.Cycle:
    """The next treatment cycle, with its collection, processing, injection and recovery."""
    number = (max((c.number for c in journey.cycles), default=0)) + 1
    cycle = m.Cycle(journey=journey, number=number)
    db.session.add(cycle)
    db.session.flush()
    for kind in CYCLE_KINDS:
        add_stage(journey, kind, cycle)

    baseline_for_cycle(journey, cycle, by)
    audit.record(
        "journey.cycle_opened",
        actor=by,
        obj=journey,
        patient_id=journey.patient_id,
        detail=f"cycle {number}",
    )
    return cycle


def repeat_cycle_refusal(journey: m.Journey) -> str | None:
    if journey.status is not JourneyStatus.FOLLOW_UP:
        return "A repeat treatment starts once the last injection is signed and follow-up began."
    return None


def _check_seen(journey: m.Journey, seen_version: str | NoPage | None) -> None:
    """A decision taken from the chart stands on the journey the chart showed: when it changed
    since (a repeat started, the journey ended, in another tab), the decision is stale."""
    if not isinstance(seen_version, NoPage) and seen_version != str(journey.version):
        raise StaleWrite("This journey changed after the chart was opened. Nothing was done.")


def open_repeat_cycle(
    journey: m.Journey, by: User, seen_version: str | NoPage | None = NO_PAGE
) -> m.Cycle:
    """A repeat treatment: back to treatment with a new cycle. `seen_version` is the journey's
    version the chart showed (NO_PAGE: the app itself, e.g. the demo)."""
    if not can_open_journey(by):
        raise Refused("Only a provider starts a repeat treatment.")
    _check_seen(journey, seen_version)
    refusal = repeat_cycle_refusal(journey)
    if refusal:
        raise Refused(refusal)
    move_journey(journey, JourneyStatus.IN_TREATMENT)
    return open_cycle(journey, by)


def end_journey(
    journey: m.Journey,
    target: JourneyStatus,
    reason: str,
    by: User,
    seen_version: str | NoPage | None = NO_PAGE,
) -> None:
    """Discharge from the programme (completed) or cancel; a reason is always kept."""
    if target not in (JourneyStatus.COMPLETED, JourneyStatus.CANCELLED):
        raise Refused("A journey ends as completed or cancelled.")
    if not can_open_journey(by):
        raise Refused("Only a provider ends a journey.")
    _check_seen(journey, seen_version)
    if not reason.strip():
        raise Refused("Give the reason.", field="reason")
    move_journey(journey, target)
    journey.status_reason = reason.strip()
    audit.record(f"journey.{target.value}", actor=by, obj=journey, patient_id=journey.patient_id)


def not_a_candidate(journey: m.Journey, reason: str, by: User) -> None:
    move_journey(journey, JourneyStatus.NOT_CANDIDATE)
    journey.status_reason = reason
    audit.record("journey.not_candidate", actor=by, obj=journey, patient_id=journey.patient_id)
    db.session.flush()


def record_of(stage: m.Stage):
    """The stage's typed record. Within a request it is held until the request ends: the
    session's identity map keeps only what something references, and a page asks for the
    same record from several places (a stage page read its processing record twice)."""
    record = db.session.get(RECORD_MODELS[stage.kind], stage.id)
    if record is not None and has_request_context():
        g.setdefault("held_records", []).append(record)
    return record


def preload_records(stages: list[m.Stage]) -> list:
    """Read the records of many stages in one statement per kind, with an evaluation's
    contraindications and the people they name, in one more. While the caller holds the list
    returned (the session keeps only weak references), `record_of` and `db.session.get(User)`
    find each one without a statement."""
    by_kind: dict[StageKind, list[int]] = {}
    for stage in stages:
        by_kind.setdefault(stage.kind, []).append(stage.id)
    records: list = []
    for kind, ids in by_kind.items():
        model = RECORD_MODELS[kind]
        query = sa.select(model).where(model.__table__.c.stage_id.in_(ids))
        if model is m.EvaluationRecord:
            query = query.options(sa.orm.selectinload(m.EvaluationRecord.contraindications))
        records += db.session.scalars(query).all()
    people = {
        getattr(record, column.key)
        for record in records
        for column in sa.inspect(type(record)).columns
        if column.key.endswith("_by_id")
    } | {stage.completed_by_id for stage in stages}
    people.discard(None)
    if people:
        records += db.session.scalars(sa.select(User).where(User.id.in_(people))).all()
    return records


def _require_open_journey(journey: m.Journey, by: User) -> None:
    if not can_open_journey(by):
        raise Refused("Only a provider changes diagnoses and targets.")
    if journey.status in (
        JourneyStatus.NOT_CANDIDATE,
        JourneyStatus.COMPLETED,
        JourneyStatus.CANCELLED,
    ):
        raise Refused("The journey has ended.")


def add_target(journey: m.Journey, level: str, side: str, structure: str, by: User) -> None:
    _require_open_journey(journey, by)
    _check_target(level, side, structure)
    if any((t.level, t.side, t.structure) == (level, side, structure) for t in journey.targets):
        raise Refused("That target site is already in the plan.", "structure")
    journey.targets.append(m.TargetSite(level=level, side=side, structure=structure))
    db.session.flush()
    audit.record(
        "journey.target_added",
        actor=by,
        obj=journey,
        patient_id=journey.patient_id,
        detail=f"{level} {side} {structure}",
    )


def set_conditions(journey: m.Journey, condition_ids: Iterable[int], by: User) -> None:
    _require_open_journey(journey, by)
    conditions = db.session.scalars(
        sa.select(m.Condition).where(m.Condition.id.in_(list(condition_ids)))
    ).all()
    if not conditions:
        raise Refused("Choose at least one condition.", field="condition_ids")
    journey.conditions = list(conditions)
    db.session.flush()
    audit.record(
        "journey.conditions_set",
        actor=by,
        obj=journey,
        patient_id=journey.patient_id,
        detail=", ".join(c.code for c in conditions),
    )
