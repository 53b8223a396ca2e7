"""Procedure-day safety: site and volume against the plan and the product, stage times in order,
kit expiry, the leukocyte label from the counts, the cervical warning, the discharge release,
and drafts that keep every field when saved twice."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.errors import Refused
from clinic.journeys import models as m
from clinic.journeys import walkthrough as walk
from clinic.journeys.services import gating, journeys, specimens, stages
from clinic.journeys.states import StageKind, StageStatus, Therapy
from clinic.models.audit import AuditEvent
from clinic.models.base import utcnow
from clinic.timeutil import clinic_today
from clinic.transaction import attempt
from tests import factories


def url(stage, tail=""):
    return f"/clinical/journeys/{stage.journey_id}/stages/{stage.id}{tail}"


def _site(level="L4-L5", side="midline", structure="disc", approach="intradiscal", ml="3"):
    return dict(
        level=level,
        side=side,
        structure=structure,
        approach=approach,
        volume_ml=Decimal(ml),
        needle=None,
    )


@pytest.fixture
def injecting(journey, provider, staff, staff2):
    """A PRP journey planned at L4-L5 midline disc, with 6 mL of product, time-out done."""
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    walk.process(journey, staff, staff2)
    stage = walk.stage_of(journey, StageKind.INJECTION)
    stages.start_stage(stage, provider)
    walk.tick_all(stage, provider)
    walk.time_out(stage, provider)
    return stage


def _audits(db, action):
    return db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()


def test_a_site_outside_the_plan_is_a_hard_stop(db, injecting, provider):
    with pytest.raises(Refused, match="not in the plan") as err:
        specimens.add_injection_site(injecting, _site("C5-C6", "left", "facet", "facet"), provider)
    assert err.value.field == "level"
    for wrong in (_site(side="left"), _site(structure="facet"), _site(level="L5-S1")):
        with pytest.raises(Refused, match="not in the plan"):
            specimens.add_injection_site(injecting, wrong, provider)
    specimens.add_injection_site(injecting, _site(), provider)  # the planned one is fine


def test_only_a_provider_overrides_the_plan_with_a_reason_and_it_is_audited(
    db, injecting, provider, staff
):
    off = _site("L5-S1", "midline", "disc")
    with pytest.raises(Refused, match="provider"):
        specimens.add_injection_site(injecting, off, staff, off_plan_reason="looked worse")
    site = specimens.add_injection_site(
        injecting, off, provider, off_plan_reason="Adjacent level tender on the table"
    )
    assert site.off_plan_reason == "Adjacent level tender on the table"
    assert site.off_plan_by_id == provider.id
    (row,) = _audits(db, "injection.site_off_plan")
    assert row.actor_id == provider.id and "L5-S1" in row.detail


def test_injected_volume_cannot_exceed_the_product(db, injecting, provider):
    specimens.add_injection_site(injecting, _site(ml="3"), provider)
    specimens.add_injection_site(injecting, _site(ml="3"), provider)  # 6 of 6 mL
    with pytest.raises(Refused, match=r"more than the 6\.00 mL") as err:
        specimens.add_injection_site(injecting, _site(ml="0.5"), provider)
    assert err.value.field == "volume_ml"


def test_an_eight_ml_site_from_five_ml_is_refused_through_the_page(
    client, login, injecting, provider, db
):
    processing = journeys.record_of(walk.stage_of(injecting.journey, StageKind.PROCESSING))
    processing.final_volume_ml = Decimal(5)
    db.session.flush()
    login(Role.PROVIDER, provider)
    form = dict(level="L4-L5", side="midline", structure="disc", approach="intradiscal")
    response = client.post_form(url(injecting, "/sites"), {**form, "volume_ml": "8"})
    assert response.status_code == 422
    assert "more than the 5.00 mL of product" in response.get_data(as_text=True)
    off = {**form, "level": "C5-C6", "volume_ml": "1"}
    response = client.post_form(url(injecting, "/sites"), off)
    assert response.status_code == 422 and "not in the plan" in response.get_data(as_text=True)
    response = client.post_form(
        url(injecting, "/sites"), {**off, "off_plan_reason": "Level confirmed on imaging"}
    )
    assert response.status_code == 302
    page = client.get(url(injecting)).get_data(as_text=True)
    assert "Outside the plan" in page and "Level confirmed on imaging" in page


def test_a_double_sent_site_is_recorded_once(client, login, injecting, provider, db):
    specimens.add_injection_site(injecting, _site(ml="1"), provider)  # the first, with the record
    login(Role.PROVIDER, provider)
    page = client.get(url(injecting)).get_data(as_text=True)
    form = re.search(r'<form[^>]*id="site-form".*?</form>', page, re.S)[0]
    key = re.search(r'name="submission_key" value="([^"]+)"', form)[1]
    sent = dict(level="L4-L5", side="midline", structure="disc", approach="intradiscal")
    for _ in range(2):  # a double click
        response = client.post_form(
            url(injecting, "/sites"), {**sent, "volume_ml": "1", "submission_key": key}
        )
        assert response.status_code == 302
    db.session.expire_all()
    assert len(journeys.record_of(injecting).sites) == 2  # the first site and this one


def test_cellular_product_transforaminal_at_a_cervical_level_needs_the_providers_yes(
    db, make_journey, provider, staff, staff2, client, login
):
    condition = db.session.scalar(sa.select(m.Condition).where(m.Condition.code.like("M50%")))
    journey = journeys.open_journey(
        factories.PatientFactory(),
        therapy=Therapy.PRP,
        provider=provider,
        condition_ids=[condition.id],
        targets=[("C5-C6", "left", "facet")],
        by=provider,
    )
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    walk.process(journey, staff, staff2)
    stage = walk.stage_of(journey, StageKind.INJECTION)
    stages.start_stage(stage, provider)
    login(Role.PROVIDER, provider)
    page = client.get(url(stage)).get_data(as_text=True)
    assert 'id="cervical-warning"' in page and "spinal cord infarction" in page
    risky = _site("C5-C6", "left", "facet", "transforaminal", "1")
    with pytest.raises(Refused, match="spinal cord infarction") as err:
        specimens.add_injection_site(stage, risky, provider)
    assert err.value.field == "approach"
    specimens.add_injection_site(stage, risky, provider, cervical_risk_accepted=True)
    specimens.add_injection_site(stage, _site("C5-C6", "left", "facet", "facet", "1"), provider)


def test_stage_times_follow_the_stage_order(db, journey, provider, staff, staff2):
    evaluation = journey.evaluation
    with pytest.raises(Refused, match="future") as err, attempt():
        stages.save_stage(
            evaluation,
            dict(consent_form_version="C-1", consent_signed_at=utcnow() + timedelta(days=2)),
            provider,
        )
    assert err.value.field == "consent_signed_at"
    walk.evaluate(journey, provider)
    consent = journeys.record_of(journey.evaluation).consent_signed_at
    collection = walk.stage_of(journey, StageKind.COLLECTION)
    walk.screen(journey, staff)
    with pytest.raises(Refused, match="before consent") as err, attempt():
        stages.save_stage(collection, dict(collected_at=consent - timedelta(hours=1)), staff)
    assert err.value.field == "collected_at"
    # the page enters times to the minute: the minute consent was stamped in is not before it
    # (consent at 09:00:35, collection entered as 09:00), the minute before is
    stamped = consent.replace(second=35, microsecond=0)
    journeys.record_of(journey.evaluation).consent_signed_at = stamped  # as the app stamps it
    db.session.flush()
    same_minute = stamped.replace(second=0)
    stages.save_stage(collection, dict(collected_at=same_minute), staff)
    with pytest.raises(Refused, match="before consent"), attempt():
        stages.save_stage(collection, dict(collected_at=same_minute - timedelta(minutes=1)), staff)
    walk.collect(journey, staff)
    walk.process(journey, staff, staff2)
    injection = walk.stage_of(journey, StageKind.INJECTION)
    collected = journeys.record_of(collection).collected_at
    with pytest.raises(Refused, match="before the specimen was collected") as err, attempt():
        stages.save_stage(
            injection, dict(procedure_started_at=collected - timedelta(days=1)), provider
        )
    assert err.value.field == "procedure_started_at"


def test_an_expired_kit_is_refused_and_the_kit_is_required(db, journey, provider, staff, staff2):
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    stage = walk.process(journey, staff, staff2, complete=False)
    with pytest.raises(Refused, match="expired") as err, attempt():
        stages.save_stage(stage, dict(kit_expiry=clinic_today() - timedelta(days=1)), staff)
    assert err.value.field == "kit_expiry"
    stages.save_stage(stage, dict(kit_lot=None), staff)
    walk.tick_all(stage, staff)
    assert "Record the kit's lot and expiry date." in gating.complete_blockers(stage)
    stages.save_stage(stage, dict(kit_lot="K-1", kit_expiry=clinic_today()), staff)
    assert gating.complete_blockers(stage) == []


def test_the_leukocyte_label_comes_from_the_counts(db, journey, provider, staff, staff2):
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)  # baseline white cells 6.5
    stage = walk.process(journey, staff, staff2, complete=False)
    record = journeys.record_of(stage)
    assert record.leukocytes == "poor"  # product 1.2
    with pytest.raises(Refused, match="leukocyte-poor") as err, attempt():
        stages.save_stage(stage, dict(leukocytes="rich"), staff)
    assert err.value.field == "leukocytes"
    stages.save_stage(stage, dict(product_wbc=Decimal("9.1"), leukocytes=None), staff)
    assert record.leukocytes == "rich"
    assert record.paw_class.endswith("-A")


def _to_recovery(journey, provider, staff, staff2):
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    walk.process(journey, staff, staff2)
    walk.inject(journey, provider)
    stage = walk.stage_of(journey, StageKind.RECOVERY)
    stages.save_stage(
        stage,
        dict(neuro_check_normal=False, puncture_site_ok=True, discharge_criteria_met=True),
        staff,
    )
    walk.tick_all(stage, staff)
    return stage


def test_discharge_with_an_abnormal_check_needs_a_providers_release(
    db, journey, provider, staff, staff2
):
    stage = _to_recovery(journey, provider, staff, staff2)
    with pytest.raises(Refused, match="provider must record the release"):
        stages.complete_stage(stage, staff)
    with pytest.raises(Refused, match="Only a provider") as err, attempt():
        stages.save_stage(stage, dict(release_note="Seems fine"), staff)
    assert err.value.field == "release_note"
    stages.save_stage(stage, dict(release_note="Known numb patch since 2019, unchanged"), provider)
    record = journeys.record_of(stage)
    assert record.released_by_id == provider.id
    stages.complete_stage(stage, staff)
    assert stage.status is StageStatus.COMPLETED


def test_the_day_one_call_is_created_at_discharge_even_when_the_injection_is_never_signed(
    db, journey, provider, staff, staff2
):
    stage = _to_recovery(journey, provider, staff, staff2)
    injection = walk.stage_of(journey, StageKind.INJECTION)
    assert injection.status is StageStatus.SIGNED  # walk signs; unsign to prove independence
    assert db.session.scalars(sa.select(m.FollowUp)).all() == []
    stages.save_stage(stage, dict(neuro_check_normal=True), staff)
    stages.complete_stage(stage, staff)
    labels = [f.label for f in db.session.scalars(sa.select(m.FollowUp).order_by(m.FollowUp.id))]
    assert labels[0] == "Day 1-2 phone check"
    stages.reopen_stage(stage, staff)
    stages.complete_stage(stage, staff)  # completing again does not create a second set
    assert len(db.session.scalars(sa.select(m.FollowUp)).all()) == len(labels)


def test_saving_the_processing_draft_twice_keeps_who_processed_and_verified(
    client, login, journey, provider, staff, staff2, db
):
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    stage = walk.process(journey, staff, staff2, complete=False)
    login(Role.CLINICAL_STAFF, staff)
    page = client.get(url(stage)).get_data(as_text=True)
    assert f'<option selected value="{staff.id}">' in page
    assert f'<option selected value="{staff2.id}">' in page
    # What the browser sends back is what the page showed: post it again unchanged.
    form = {
        "version": str(stage.version),
        "device": "Dual-spin PRP kit",
        "kit_lot": "K-44821",
        "kit_expiry": (clinic_today() + timedelta(days=30)).isoformat(),
        "final_volume_ml": "6",
        "processed_by_id": str(staff.id),
        "verified_by_id": str(staff2.id),
    }
    assert client.post_form(url(stage), form).status_code == 302
    db.session.refresh(stage)
    page = client.get(url(stage)).get_data(as_text=True)
    assert f'<option selected value="{staff2.id}">' in page
    record = journeys.record_of(stage)
    db.session.refresh(record)
    assert (record.processed_by_id, record.verified_by_id) == (staff.id, staff2.id)


@pytest.mark.parametrize("reading", ["999999/1", "80/120", "12/8", "high"])
def test_an_implausible_blood_pressure_is_refused(db, journey, provider, staff, staff2, reading):
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    walk.process(journey, staff, staff2)
    walk.inject(journey, provider)
    stage = walk.stage_of(journey, StageKind.RECOVERY)
    with pytest.raises(Refused) as err, attempt():
        stages.save_stage(stage, dict(blood_pressure=reading), staff)
    assert err.value.field == "blood_pressure"
    stages.save_stage(stage, dict(blood_pressure="124/78"), staff)
