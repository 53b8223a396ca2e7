"""Walks a journey through its stages with plausible values: used by the demo data and tests."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from clinic.auth.models import User
from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.models.records import Decision
from clinic.journeys.services import (
    checklists,
    gating,
    journeys,
    screening,
    specimens,
    stages,
    verification,
)
from clinic.journeys.states import StageKind, Therapy
from clinic.models.base import utcnow
from clinic.timeutil import clinic_day_bounds, clinic_today


def tick_all(stage: m.Stage, by: User) -> None:
    items = {i.id for i in stage.checklist_template.items} if stage.checklist_template else set()
    checklists.set_ticks(stage, items, by)


def contraindication_ids(*codes: str) -> list[int]:
    return list(
        db.session.scalars(
            sa.select(m.Contraindication.id).where(m.Contraindication.code.in_(codes))
        )
    )


def evaluate(
    journey: m.Journey,
    provider: User,
    *,
    decision: Decision = Decision.CANDIDATE,
    contraindications: tuple[str, ...] = (),
    acknowledgement: str | None = None,
    reason: str | None = None,
    sign: bool = True,
) -> m.Stage:
    stage = journey.evaluation
    stages.save_stage(
        stage,
        dict(
            pain_duration_months=18,
            pain_location="Low back, worse on sitting",
            pain_radiation="Left buttock",
            physical_therapy_weeks=12,
            medications="Acetaminophen as needed",
            imaging_modality="mri",
            imaging_findings="Disc desiccation with annular fissure",
            exam_findings="Tender over the level; neurological exam normal",
            decision=decision,
            decision_reason=reason,
            relative_acknowledgement=acknowledgement,
            planned_guidance="fluoroscopy",
            planned_treatments=1,
            consent_form_version="CONSENT-2026-1" if decision is Decision.CANDIDATE else None,
            consent_signed_at=utcnow() if decision is Decision.CANDIDATE else None,
            consent_witness="Sam Whitaker, RN" if decision is Decision.CANDIDATE else None,
            contraindication_ids=contraindication_ids(*contraindications),
        ),
        provider,
    )
    tick_all(stage, provider)
    stages.complete_stage(stage, provider)
    if sign:
        stages.sign_stage(stage, provider)
    return stage


def stage_of(journey: m.Journey, kind: StageKind, cycle: m.Cycle | None = None) -> m.Stage:
    cycle = cycle or journey.current_cycle
    return next(s for s in cycle.stages if s.kind is kind and s.is_live)


def screen(journey: m.Journey, by: User, **values: Any) -> m.DayOfScreen:
    """Today's procedure-day screen for the current cycle (a repeat cycle is consented again)."""
    cycle = journey.current_cycle
    assert cycle is not None
    answers: dict[str, Any] = dict(
        allergies_confirmed=True, medicines_confirmed=True, pregnancy="not_applicable"
    )
    if cycle.number > 1:
        answers.update(consent_form_version="CONSENT-2026-1", consent_signed_at=utcnow())
    answers.update(values)
    override = answers.pop("override_reason", None)
    return screening.record_screen(cycle, answers, by, override)


def collect(journey: m.Journey, by: User, *, complete: bool = True) -> m.Stage:
    stage = stage_of(journey, StageKind.COLLECTION)
    if screening.screen_of(stage.cycle) is None:
        screen(journey, by)
    values = dict(identifiers_checked=True, collected_at=utcnow(), collected_by_id=by.id)
    if journey.therapy in (Therapy.PRP, Therapy.GROWTH_FACTOR):
        values.update(
            draw_site="Left antecubital",
            blood_volume_ml=Decimal("60"),
            anticoagulant_ml=Decimal("6"),
            baseline_platelets=Decimal("250"),
            baseline_wbc=Decimal("6.5"),
        )
    if journey.therapy is Therapy.BMAC:
        values.update(harvest_side="left", anaesthesia="Lidocaine 1%", aspirate_ml=Decimal(60))
    if journey.therapy is Therapy.ADIPOSE:
        values.update(harvest_site="Abdomen", tumescent_ml=Decimal(200), lipoaspirate_ml=60)
    if journey.therapy is Therapy.GROWTH_FACTOR:
        values.update(product_name="Recombinant growth factor", product_lot="GF-2291")
    stages.save_stage(stage, values, by)
    if complete:
        tick_all(stage, by)
        stages.complete_stage(stage, by)
    return stage


def process(journey: m.Journey, by: User, verifier: User, *, complete: bool = True) -> m.Stage:
    stage = stage_of(journey, StageKind.PROCESSING)
    stages.save_stage(
        stage,
        dict(
            tube_code=gating.specimen_of(stage.cycle).code,  # type: ignore[union-attr]
            device="Dual-spin PRP kit",
            kit_lot="K-44821",
            kit_expiry=clinic_today() + timedelta(days=365),
            spin1_g=1500,
            spin1_minutes=5,
            final_volume_ml=Decimal("6"),
            product_platelets=Decimal("1100"),
            product_wbc=Decimal("1.2"),
            leukocytes="poor",
            activation="none",
            processed_by_id=by.id,
        ),
        by,
    )
    # The second person verifies in their own session.
    stages.save_stage(stage, dict(verified_by_id=verifier.id), verifier)
    if complete:
        tick_all(stage, by)
        stages.complete_stage(stage, by)
    return stage


def confirm_team(stage: m.Stage, provider: User) -> None:
    """Whoever processed or verified the product joins the time-out in their own session."""
    processing = journeys.record_of(stage_of(stage.journey, StageKind.PROCESSING, stage.cycle))
    for person_id in (processing.processed_by_id, processing.verified_by_id):
        helper = db.session.get(User, person_id) if person_id else None
        if helper is not None and helper.id != provider.id:
            verification.confirm_member(stage, helper, None, helper)
            return


def time_out(stage: m.Stage, provider: User) -> None:
    """The time-out by a team of two, with the syringe's (correct) specimen ID."""
    code = gating.specimen_of(stage.cycle).code  # type: ignore[union-attr]
    confirm_team(stage, provider)
    specimens.confirm_time_out(stage, code, [], provider)


def inject(journey: m.Journey, provider: User, *, sign: bool = True, days_ago: int = 0):
    stage = stage_of(journey, StageKind.INJECTION)
    stages.start_stage(stage, provider)
    tick_all(stage, provider)
    time_out(stage, provider)
    target = journey.targets[0] if journey.targets else None
    specimens.add_injection_site(
        stage,
        dict(
            level=target.level if target else "L4-L5",
            side=target.side if target else "midline",
            structure=target.structure if target else "disc",
            approach="intradiscal",
            volume_ml=Decimal("3"),
            needle="22G spinal",
        ),
        provider,
    )
    started = utcnow() - timedelta(days=days_ago, minutes=45)
    if days_ago:
        # that clinic day's noon, so "days ago" holds just after the clinic's midnight too
        started = clinic_day_bounds(clinic_today() - timedelta(days=days_ago))[0] + timedelta(
            hours=12
        )
    backdate_cycle(journey, stage, started)
    stages.save_stage(
        stage,
        dict(
            guidance="fluoroscopy",
            contrast_ml=Decimal("0.5"),
            fluoro_seconds=Decimal("24"),
            complications="none",
            procedure_started_at=started,
            procedure_ended_at=started + timedelta(minutes=40),
            images_saved=True,
            product_disposition="used",
        ),
        provider,
    )
    stages.complete_stage(stage, provider)
    if sign:
        stages.sign_stage(stage, provider)
    return stage


def backdate_cycle(journey: m.Journey, injection: m.Stage, started) -> None:
    """An injection walked "days ago" needs its consent and collection earlier still."""
    assert journey.evaluation is not None
    evaluation = journeys.record_of(journey.evaluation)
    if evaluation.consent_signed_at and evaluation.consent_signed_at > started:
        evaluation.consent_signed_at = started - timedelta(hours=4)
    collection = journeys.record_of(stage_of(journey, StageKind.COLLECTION, injection.cycle))
    if collection.collected_at and collection.collected_at > started:
        collection.collected_at = started - timedelta(hours=2)
        specimen = gating.specimen_of(injection.cycle)
        assert specimen is not None
        specimen.collected_at = collection.collected_at


def recover(journey: m.Journey, by: User) -> m.Stage:
    stage = stage_of(journey, StageKind.RECOVERY)
    stages.save_stage(
        stage,
        dict(
            blood_pressure="124/78",
            heart_rate=72,
            pain_score=3,
            neuro_check_normal=True,
            puncture_site_ok=True,
            discharge_criteria_met=True,
            escort="Spouse",
        ),
        by,
    )
    tick_all(stage, by)
    stages.complete_stage(stage, by)
    return stage
