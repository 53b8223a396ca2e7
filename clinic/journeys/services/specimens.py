"""Specimen chain of custody: IDs, hand-offs, and the time-out's ID check (a hard stop)."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from flask import current_app

from clinic.auth.models import User
from clinic.errors import Refused
from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.models.custody import CustodyStep
from clinic.journeys.services import gating, safety, verification
from clinic.journeys.services.journeys import record_of
from clinic.journeys.states import StageStatus
from clinic.models import audit
from clinic.models.base import utcnow
from clinic.policy import stage_work_refusal
from clinic.transaction import keep_after_rollback

# No 0/O or 1/I: the ID is read aloud and typed at the time-out.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


class SpecimenMismatch(Refused):
    """The syringe's specimen ID is not this journey's product: a hard stop, kept on record."""

    def __init__(self, entered: str) -> None:
        super().__init__(
            f"Stop: the syringe's specimen ID {entered or '(blank)'} is not this patient's "
            "product.",
            "specimen_code",
        )
        self.entered = entered


def new_code() -> str:
    while True:
        code = "SP-" + "".join(secrets.choice(ALPHABET) for _ in range(6))
        taken = db.session.scalar(sa.select(m.Specimen.id).where(m.Specimen.code == code))
        if taken is None:
            return code


def normalise(code: str) -> str:
    return "".join((code or "").split()).upper()


def label_specimen(stage: m.Stage, by: User) -> m.Specimen:
    """The specimen and its ID, made when collection starts so the label goes on at the bedside."""
    journey = stage.journey
    now = utcnow()
    specimen = m.Specimen(
        code=new_code(),
        patient_id=journey.patient_id,
        journey_id=journey.id,
        cycle_id=stage.cycle_id,
        product_type=journey.therapy,
        collected_at=now,
        collected_by_id=by.id,
        custody_state=CustodyStep.LABELLED,
    )
    db.session.add(specimen)
    db.session.flush()
    hand_off(specimen, CustodyStep.LABELLED, by, at=now)
    return specimen


def record_collection(stage: m.Stage, record: m.CollectionRecord, by: User) -> m.Specimen:
    """The labelled specimen is collected: its time and collector come from the record."""
    specimen = gating.specimen_of(stage.cycle) or label_specimen(stage, by)
    specimen.collected_at = record.collected_at or utcnow()
    specimen.collected_by_id = record.collected_by_id or by.id
    hand_off(specimen, CustodyStep.COLLECTED, by, at=specimen.collected_at)
    return specimen


def hand_off(
    specimen: m.Specimen, step: CustodyStep, by: User, note: str | None = None, at=None
) -> m.CustodyEvent:
    """One custody event; the specimen's state follows it."""
    event = m.CustodyEvent(specimen=specimen, step=step, by_id=by.id, note=note, at=at or utcnow())
    specimen.custody_state = step
    db.session.add(event)
    db.session.flush()
    audit.record(
        f"custody.{step.value}",
        actor=by,
        obj=specimen,
        patient_id=specimen.patient_id,
        detail=specimen.code,
    )
    return event


def confirm_time_out(
    stage: m.Stage,
    entered_code: str,
    members: list[tuple[User | None, str | None]],
    by: User,
) -> None:
    """Record the time-out. A syringe ID that is not this cycle's specimen is a hard stop.

    The signed-in user and each member chosen (with their own password) confirm in person;
    members who confirmed earlier in their own session count too. The team is at least two.

    On a mismatch SpecimenMismatch is raised: nothing changes, but the stop's audit row is
    kept even though the request rolls back (`keep_after_rollback`), so it is on record.
    """
    refusal = stage_work_refusal(by, stage)
    if refusal:
        raise Refused(refusal)
    if stage.status is not StageStatus.IN_PROGRESS:
        raise Refused("Start the injection stage before the time-out.")
    blockers = gating.checklist_blockers(stage)
    if blockers:
        raise Refused("Tick the time-out items first. " + blockers[0])
    specimen = gating.specimen_of(stage.cycle)
    entered = normalise(entered_code)
    if specimen is None or entered != specimen.code:
        keep_after_rollback(
            action="timeout.specimen_mismatch",
            actor=by,
            obj=stage,
            patient_id=stage.journey.patient_id,
            detail=f"entered {entered[:20] or '(blank)'}; expected "
            f"{specimen.code if specimen else '(none)'}",
        )
        raise SpecimenMismatch(entered)
    _, level, message = safety.product_age(specimen)
    if level == "stop":
        keep_after_rollback(
            action="timeout.product_expired",
            actor=by,
            obj=stage,
            patient_id=stage.journey.patient_id,
            detail=specimen.code,
        )
        raise Refused(message or "", "specimen_code")
    for person, password in [(by, None), *members]:
        verification.confirm_member(stage, person, password, by)
    team = verification.team_of(stage)
    minimum = current_app.config.get("TIMEOUT_MIN_TEAM", 2)
    if len(team) < minimum:
        raise Refused(
            f"The time-out needs at least {minimum} people, each confirming: choose the others "
            "present and have each type their password."
        )
    record = record_of(stage)
    record.timeout_specimen_code = entered
    record.timeout_team = "; ".join(t.user.full_name for t in team)[:300]
    record.timeout_confirmed_at = utcnow()
    record.timeout_confirmed_by_id = by.id
    stage.updated_at = utcnow()
    db.session.flush()
    audit.record("timeout.confirmed", actor=by, obj=stage, patient_id=stage.journey.patient_id)


def add_injection_site(
    stage: m.Stage,
    values: dict,
    by: User,
    *,
    off_plan_reason: str | None = None,
    cervical_risk_accepted: bool = False,
) -> m.InjectionSite:
    """One injected site, reconciled with the plan and the product's volume (see safety)."""
    refusal = stage_work_refusal(by, stage)
    if refusal:
        raise Refused(refusal)
    if stage.status is not StageStatus.IN_PROGRESS:
        raise Refused("Sites are recorded while the injection is in progress.")
    reason = (off_plan_reason or "").strip()[:300] or None
    record = record_of(stage)
    safety.check_site(
        stage,
        record,
        values,
        by,
        off_plan_reason=reason,
        cervical_risk_accepted=cervical_risk_accepted,
    )
    site = m.InjectionSite(stage_id=stage.id, **values)
    if reason and not safety.planned(stage, values):
        site.off_plan_reason = reason
        site.off_plan_by_id = by.id
    db.session.add(site)
    stage.updated_at = utcnow()
    db.session.flush()
    db.session.refresh(record, ["sites"])
    audit.record("injection.site_added", actor=by, obj=stage, patient_id=stage.journey.patient_id)
    safety.audit_site(stage, site, by)
    return site


def check_tube(stage: m.Stage, entered_code: str | None, by: User) -> str | None:
    """At processing, the ID scanned from the tube must be this cycle's specimen (a hard stop)."""
    if not entered_code:
        return None
    specimen = gating.specimen_of(stage.cycle)
    entered = normalise(entered_code)
    if specimen is None or entered != specimen.code:
        keep_after_rollback(
            action="processing.specimen_mismatch",
            actor=by,
            obj=stage,
            patient_id=stage.journey.patient_id,
            detail=f"entered {entered[:20]}; expected {specimen.code if specimen else '(none)'}",
        )
        raise Refused(
            f"Stop: the tube's ID {entered} is not this patient's specimen. Do not process it; "
            "check the tube against the patient's label.",
            field="tube_code",
        )
    return entered
