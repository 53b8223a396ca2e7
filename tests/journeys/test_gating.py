"""Every gating rule of the journey, enforced by the services with a reason the UI shows."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from clinic.errors import Refused
from clinic.journeys import models as m
from clinic.journeys import walkthrough as walk
from clinic.journeys.models.custody import CustodyStep, FollowUpStatus
from clinic.journeys.models.records import Decision
from clinic.journeys.services import gating, journeys, stages
from clinic.journeys.states import JourneyStatus, StageKind, StageStatus, Therapy
from clinic.models.audit import AuditEvent
from tests.factories import PatientFactory


def actions(db, action):
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


def test_candidate_with_consent_opens_cycle_one(db, journey, provider):
    walk.evaluate(journey, provider)
    assert journey.status is JourneyStatus.IN_TREATMENT
    assert [c.number for c in journey.cycles] == [1]
    kinds = [s.kind for s in journey.cycles[0].stages]
    assert kinds == [
        StageKind.COLLECTION,
        StageKind.PROCESSING,
        StageKind.INJECTION,
        StageKind.RECOVERY,
    ]


def test_collection_needs_completed_evaluation(db, journey, provider):
    walk.evaluate(journey, provider, sign=False)
    collection = walk.stage_of(journey, StageKind.COLLECTION)
    assert gating.start_blockers(collection) == [
        "Do today's procedure-day screen for this cycle first."
    ]
    walk.screen(journey, provider)
    assert gating.start_blockers(collection) == []
    journey.evaluation.status = StageStatus.IN_PROGRESS  # as if it were not completed
    assert gating.start_blockers(collection) == ["Collection needs a completed evaluation."]


def test_candidate_without_consent_cannot_complete_evaluation(db, journey, provider):
    stage = journey.evaluation
    stages.save_stage(stage, {"decision": Decision.CANDIDATE}, provider)
    walk.tick_all(stage, provider)
    with pytest.raises(Refused, match="informed consent"):
        stages.complete_stage(stage, provider)
    assert stage.status is StageStatus.IN_PROGRESS
    assert journey.status is JourneyStatus.EVALUATING


def test_collection_refused_before_a_candidate_decision(db, journey, provider, staff):
    stage = journey.evaluation
    stages.save_stage(stage, {"decision": Decision.MORE_WORKUP}, provider)
    assert any("more work-up" in r for r in gating.complete_blockers(stage))
    assert journey.cycles == []  # nothing to collect yet


def test_collection_gate_reasons_when_consent_missing(db, journey, provider):
    walk.evaluate(journey, provider)
    record = journeys.record_of(journey.evaluation)
    record.consent_signed_at = record.consent_form_version = None
    collection = walk.stage_of(journey, StageKind.COLLECTION)
    assert gating.start_blockers(collection) == ["Collection needs recorded informed consent."]
    with pytest.raises(Refused, match="consent"):
        stages.start_stage(collection, provider)


def test_absolute_contraindication_ends_journey_as_not_candidate(db, journey, provider):
    walk.evaluate(journey, provider, decision=Decision.CANDIDATE, contraindications=("pregnancy",))
    assert journey.status is JourneyStatus.NOT_CANDIDATE
    assert "Pregnancy" in journey.status_reason
    assert journeys.record_of(journey.evaluation).decision is Decision.NOT_CANDIDATE
    assert journey.cycles == []
    assert actions(db, "journey.not_candidate")


def test_relative_contraindication_needs_acknowledgement(db, journey, provider):
    stage = journey.evaluation
    with pytest.raises(Refused, match="acknowledgement"):
        walk.evaluate(journey, provider, contraindications=("anticoagulant",))
    assert stage.status is StageStatus.IN_PROGRESS
    stages.save_stage(
        stage, {"relative_acknowledgement": "Held apixaban 3 days per ASRA."}, provider
    )
    stages.complete_stage(stage, provider)
    assert journey.status is JourneyStatus.IN_TREATMENT


def test_processing_needs_a_collected_specimen(db, journey, provider, staff):
    walk.evaluate(journey, provider)
    processing = walk.stage_of(journey, StageKind.PROCESSING)
    assert "collected specimen" in gating.start_blockers(processing)[0]
    with pytest.raises(Refused):
        stages.start_stage(processing, staff)
    walk.collect(journey, staff)
    assert gating.start_blockers(processing) == []


def test_injection_needs_processed_product_of_this_patient(db, journey, provider, staff, staff2):
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    injection = walk.stage_of(journey, StageKind.INJECTION)
    assert "processed product" in gating.start_blockers(injection)[0]
    walk.process(journey, staff, staff2)
    assert gating.start_blockers(injection) == []
    specimen = gating.specimen_of(injection.cycle)
    specimen.patient_id = PatientFactory().id  # a mislabelled product
    assert "another patient" in gating.start_blockers(injection)[0]


def test_discharge_generates_follow_ups_from_protocol(db, journey, provider, staff, staff2):
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    walk.process(journey, staff, staff2)
    walk.inject(journey, provider, sign=False)
    assert journey.status is JourneyStatus.IN_TREATMENT
    # Neither the completed injection nor a (late) signature creates them: the discharge does.
    walk.stages.sign_stage(walk.stage_of(journey, StageKind.INJECTION), provider)
    assert db.session.scalars(sa.select(m.FollowUp)).all() == []
    assert journey.status is JourneyStatus.IN_TREATMENT
    walk.recover(journey, staff)
    assert journey.status is JourneyStatus.FOLLOW_UP
    follow_ups = db.session.scalars(
        sa.select(m.FollowUp).where(m.FollowUp.journey_id == journey.id).order_by(m.FollowUp.due_on)
    ).all()
    assert [f.label for f in follow_ups] == [
        "Day 1-2 phone check",
        "2 weeks",
        "6 weeks",
        "3 months",
        "6 months",
        "12 months",
    ]
    first, two_weeks = follow_ups[0], follow_ups[1]
    assert (first.due_on - first.window_opens_on).days == 0
    assert (first.window_closes_on - first.due_on).days == 1
    assert (two_weeks.due_on - first.due_on).days == 13
    assert all(f.status is FollowUpStatus.SCHEDULED for f in follow_ups)
    assert all(f.window_opens_on <= f.due_on <= f.window_closes_on for f in follow_ups)
    specimen = gating.specimen_of(journey.cycles[0])
    assert [e.step for e in specimen.events] == [
        CustodyStep.LABELLED,
        CustodyStep.COLLECTED,
        CustodyStep.RECEIVED,
        CustodyStep.PROCESSED,
        CustodyStep.RELEASED,
        CustodyStep.ADMINISTERED,
    ]


def test_recovery_needs_completed_injection(db, journey, provider, staff, staff2):
    walk.evaluate(journey, provider)
    recovery = walk.stage_of(journey, StageKind.RECOVERY)
    assert gating.start_blockers(recovery) == ["Recovery starts after the injection is completed."]


def test_repeat_treatment_opens_a_new_cycle(db, journey, provider, staff, staff2):
    with pytest.raises(Refused, match="repeat"):
        journeys.open_repeat_cycle(journey, provider)
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    walk.process(journey, staff, staff2)
    walk.inject(journey, provider)
    walk.recover(journey, staff)
    cycle = journeys.open_repeat_cycle(journey, provider)
    assert cycle.number == 2 and journey.status is JourneyStatus.IN_TREATMENT
    collection = walk.stage_of(journey, StageKind.COLLECTION, cycle)
    assert "screen" in gating.start_blockers(collection)[0]
    # the repeat cycle is screened again and needs the patient's consent again
    stopped = walk.screen(journey, provider, consent_form_version=None, consent_signed_at=None)
    assert stopped.outcome.value == "stopped" and "re-consent" in stopped.findings
    assert "not cleared" in gating.start_blockers(collection)[0]
    walk.screen(journey, provider)
    assert gating.start_blockers(collection) == []
    walk.collect(journey, staff)
    assert gating.specimen_of(cycle).code != gating.specimen_of(journey.cycles[0]).code


def test_clinical_staff_may_not_record_evaluation_or_harvest(db, make_journey, provider, staff):
    journey = make_journey(Therapy.BMAC)
    with pytest.raises(Refused, match="provider"):
        stages.start_stage(journey.evaluation, staff)
    walk.evaluate(journey, provider)
    with pytest.raises(Refused, match="harvest"):
        walk.collect(journey, staff)
    walk.collect(journey, provider)


def test_clinical_staff_may_not_sign(db, journey, provider, staff, staff2):
    walk.evaluate(journey, provider)
    stage = walk.collect(journey, staff)
    with pytest.raises(Refused, match="provider"):
        stages.sign_stage(stage, staff)
    stages.sign_stage(stage, provider)
    assert stage.signed_by_id == provider.id and stage.signed_at is not None


def test_stage_changes_are_audited(db, journey, provider):
    walk.evaluate(journey, provider)
    for action in (
        "journey.opened",
        "stage.started",
        "stage.saved",
        "checklist.ticked",
        "stage.completed",
        "stage.signed",
        "journey.cycle_opened",
    ):
        assert actions(db, action), action


def test_cancel_needs_reason_and_void_needs_provider(db, journey, provider, staff):
    with pytest.raises(Refused, match="reason"):
        stages.end_stage(journey.evaluation, StageStatus.CANCELLED, " ", provider)
    walk.evaluate(journey, provider)
    with pytest.raises(Refused, match="provider"):
        stages.end_stage(journey.evaluation, StageStatus.VOIDED, "entered on wrong chart", staff)
    stages.end_stage(journey.evaluation, StageStatus.VOIDED, "entered on wrong chart", provider)
    assert journey.evaluation is None
