"""The guided injection in few steps, none of its safety dropped: the time-out form reads the
checklist out and starts a pending injection (gated and audited like the Start button), the
first injected site is saved with the record (checked against the plan), and any refusal
leaves nothing written."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
import sqlalchemy as sa
from markupsafe import escape

from clinic.auth.models import Role
from clinic.journeys import models as m
from clinic.journeys import walkthrough as walk
from clinic.journeys.services import checklists, gating, journeys, stages
from clinic.journeys.states import StageKind, StageStatus
from clinic.models.audit import AuditEvent
from tests import factories
from tests.factories import PASSWORD


def url(stage, tail=""):
    return f"/clinical/journeys/{stage.journey_id}/stages/{stage.id}{tail}"


def _audits(db, action, stage=None):
    query = sa.select(AuditEvent).where(AuditEvent.action == action)
    if stage is not None:
        query = query.where(
            AuditEvent.object_type == "stage", AuditEvent.object_id == str(stage.id)
        )
    return db.session.scalars(query).all()


def _ticks(db, stage):
    return db.session.scalars(
        sa.select(m.ChecklistTick).where(m.ChecklistTick.stage_id == stage.id)
    ).all()


@pytest.fixture
def pending(journey, provider, staff, staff2):
    """A PRP injection, pending, its product processed (6 mL): ready for the time-out."""
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    walk.process(journey, staff, staff2)
    return walk.stage_of(journey, StageKind.INJECTION)


def _time_out_form(stage, staff, **changes):
    template = checklists.current_template(stage.kind, stage.journey.therapy)
    form = {
        "checklist_read": "y",
        "checklist_id": str(template.id),
        "members-0-user_id": str(staff.id),
        "members-0-password": PASSWORD,
        "specimen_code": gating.specimen_of(stage.cycle).code,
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def _assert_nothing_written(db, stage):
    db.session.expire_all()
    assert stage.status is StageStatus.PENDING and stage.checklist_template_id is None
    assert _ticks(db, stage) == []
    assert _audits(db, "stage.started", stage) == []
    assert journeys.record_of(stage).timeout_confirmed_at is None
    assert (
        db.session.scalars(
            sa.select(m.TimeoutMember).where(m.TimeoutMember.stage_id == stage.id)
        ).all()
        == []
    )


def test_the_pending_injection_offers_the_time_out_not_a_start_step(
    client, login, pending, provider, db
):
    login(Role.PROVIDER, provider)
    page = client.get(url(pending)).get_data(as_text=True)
    assert "Start stage" not in page and "Save checklist" not in page
    assert 'id="timeout-form"' in page and "We confirmed every item above aloud" in page
    template = checklists.current_template(pending.kind, pending.journey.therapy)
    for item in template.items:
        assert item.text in page
    assert f'name="checklist_id" value="{template.id}"' in page


def test_the_time_out_starts_the_injection_and_ticks_what_was_read_aloud(
    client, login, pending, provider, staff, db
):
    login(Role.PROVIDER, provider)
    response = client.post_form(
        url(pending, "/time-out"), _time_out_form(pending, staff), token_from=url(pending)
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert pending.status is StageStatus.IN_PROGRESS
    record = journeys.record_of(pending)
    assert record.timeout_confirmed_at is not None
    ticks = _ticks(db, pending)
    assert {t.item_id for t in ticks} == {i.id for i in pending.checklist_template.items}
    assert {t.ticked_by_id for t in ticks} == {provider.id}
    (started,) = _audits(db, "stage.started", pending)
    assert started.actor_id == provider.id
    (ticked,) = _audits(db, "checklist.ticked", pending)
    assert "read aloud at the time-out" in ticked.detail
    assert {a.actor_id for a in _audits(db, "timeout.member_confirmed")} == {
        provider.id,
        staff.id,
    }
    assert gating.specimen_of(pending.cycle).custody_state.value == "released"


def test_without_the_read_aloud_box_the_time_out_is_refused_and_nothing_written(
    client, login, pending, provider, staff, db
):
    login(Role.PROVIDER, provider)
    response = client.post_form(
        url(pending, "/time-out"),
        _time_out_form(pending, staff, checklist_read=None),
        token_from=url(pending),
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="checklist_read-error"' in html and "required checklist item(s)" in html
    _assert_nothing_written(db, pending)


def test_a_checklist_changed_since_the_page_was_read_is_confirmed_again(
    client, login, pending, provider, staff, db
):
    login(Role.PROVIDER, provider)
    form = _time_out_form(pending, staff)
    admin = factories.make_user(Role.ADMIN)
    checklists.new_version(
        StageKind.INJECTION, None, "Time-out v2", [("Read the new item", True)], admin
    )
    db.session.flush()
    response = client.post_form(url(pending, "/time-out"), form, token_from=url(pending))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "changed since this page was opened" in html and "Read the new item" in html
    _assert_nothing_written(db, pending)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"specimen_code": "SP-WRONG1"}, "STOP: the syringe does not match this patient"),
        ({"members-0-password": "not theirs"}, "must confirm with their own password"),
        ({"members-0-user_id": "", "members-0-password": ""}, "at least 2 people"),
    ],
)
def test_a_refused_time_out_leaves_the_injection_pending(
    client, login, pending, provider, staff, db, changes, message
):
    login(Role.PROVIDER, provider)
    response = client.post_form(
        url(pending, "/time-out"),
        _time_out_form(pending, staff, **changes),
        token_from=url(pending),
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert 'id="timeout-form"' in html  # asked again, the input kept
    # the page shows what is stored: the start (and its custody hand-off) was undone
    assert "Released for injection" not in html and "now: <strong>Processed</strong>" in html
    _assert_nothing_written(db, pending)
    if "STOP" in message:  # the hard stop stays on record
        assert len(_audits(db, "timeout.specimen_mismatch")) == 1


def test_the_time_out_is_refused_with_the_start_reasons_when_gating_forbids_it(
    client, login, journey, provider, staff, staff2, db
):
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    walk.process(journey, staff, staff2, complete=False)  # no processed product yet
    stage = walk.stage_of(journey, StageKind.INJECTION)
    reasons = [str(escape(r)) for r in gating.start_blockers(stage)]
    assert reasons
    login(Role.PROVIDER, provider)
    page = client.get(url(stage)).get_data(as_text=True)
    assert 'id="timeout-blocked"' in page and reasons[0] in page
    assert 'id="timeout-form"' not in page
    response = client.post_form(
        url(stage, "/time-out"), _time_out_form(stage, staff), token_from=url(stage)
    )
    assert response.status_code == 422
    assert reasons[0] in response.get_data(as_text=True)
    _assert_nothing_written(db, stage)


@pytest.fixture
def timed_out(client, login, pending, provider, staff, db):
    login(Role.PROVIDER, provider)
    response = client.post_form(
        url(pending, "/time-out"), _time_out_form(pending, staff), token_from=url(pending)
    )
    assert response.status_code == 302
    db.session.expire_all()
    return pending


def _record_form(stage, **site):
    form = {
        "version": str(stage.version),
        "guidance": "fluoroscopy",
        "complications": "none",
        "images_saved": "y",
        "product_disposition": "used",
        "site-level": "L4-L5",
        "site-side": "midline",
        "site-structure": "disc",
        "site-approach": "intradiscal",
        "site-volume_ml": "3",
        "site-needle": "22G spinal",
    }
    form.update({f"site-{k}": v for k, v in site.items()})
    return form


def test_the_first_site_comes_with_the_record_and_the_stage_is_signed(
    client, login, timed_out, provider, db
):
    page = client.get(url(timed_out)).get_data(as_text=True)
    assert 'id="first-site"' in page and 'id="site-form"' not in page
    assert '<option selected value="L4-L5">' in page  # from the plan
    response = client.post_form(
        url(timed_out), {**_record_form(timed_out), "then": "sign"}, follow_redirects=True
    )
    assert response.status_code == 200
    assert "injected site recorded, stage completed, signed" in response.get_data(as_text=True)
    db.session.expire_all()
    assert timed_out.status is StageStatus.SIGNED
    (site,) = journeys.record_of(timed_out).sites
    assert (site.level, site.side, site.structure, site.volume_ml) == (
        "L4-L5",
        "midline",
        "disc",
        Decimal(3),
    )
    assert len(_audits(db, "injection.site_added")) == 1


def test_a_first_site_outside_the_plan_is_refused_beside_it_and_nothing_written(
    client, login, timed_out, provider, db
):
    response = client.post_form(
        url(timed_out), {**_record_form(timed_out, level="L5-S1"), "then": "sign"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="site-level-error"' in html and "not in the plan" in html
    assert '<option selected value="L5-S1">' in html  # the input is kept
    db.session.expire_all()
    record = journeys.record_of(timed_out)
    assert timed_out.status is StageStatus.IN_PROGRESS
    assert record.sites == [] and record.guidance is None and record.product_disposition is None


def test_the_first_site_is_held_to_the_products_volume_and_the_cervical_rule(
    client, login, timed_out, provider, db
):
    response = client.post_form(url(timed_out), _record_form(timed_out, volume_ml="8"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="site-volume_ml-error"' in html and "more than the 6.00 mL" in html
    db.session.expire_all()
    assert journeys.record_of(timed_out).sites == []


def test_completing_without_the_sites_volume_is_refused_but_a_draft_may_leave_it(
    client, login, timed_out, provider, db
):
    response = client.post_form(
        url(timed_out), {**_record_form(timed_out, volume_ml=""), "then": "complete"}
    )
    assert response.status_code == 422
    assert 'id="site-volume_ml-error"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert journeys.record_of(timed_out).guidance is None
    response = client.post_form(url(timed_out), _record_form(timed_out, volume_ml=""))
    assert response.status_code == 302
    db.session.expire_all()
    record = journeys.record_of(timed_out)
    assert record.guidance == "fluoroscopy" and record.sites == []
    assert timed_out.status is StageStatus.IN_PROGRESS
    page = client.get(url(timed_out)).get_data(as_text=True)
    assert 'id="first-site"' in page  # still offered until a site is recorded


def test_after_the_first_site_more_sites_use_add_site(client, login, timed_out, provider, db):
    response = client.post_form(url(timed_out), _record_form(timed_out))
    assert response.status_code == 302
    page = client.get(url(timed_out)).get_data(as_text=True)
    assert 'id="first-site"' not in page and 'id="site-form"' in page


def test_cervical_transforaminal_first_site_needs_the_providers_yes(
    client, login, make_journey, provider, staff, staff2, db
):
    journey = make_journey()
    target = journey.targets[0]
    target.level, target.side, target.structure = "C5-C6", "left", "facet"
    db.session.flush()
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    walk.process(journey, staff, staff2)
    stage = walk.stage_of(journey, StageKind.INJECTION)
    stages.start_stage(stage, provider)
    walk.tick_all(stage, provider)
    walk.time_out(stage, provider)
    login(Role.PROVIDER, provider)
    risky = _record_form(
        stage, level="C5-C6", side="left", structure="facet", approach="transforaminal"
    )
    risky["site-volume_ml"] = "1"
    response = client.post_form(url(stage), risky)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="site-approach-error"' in html and "spinal cord infarction" in html
    db.session.expire_all()
    assert journeys.record_of(stage).sites == []
    response = client.post_form(url(stage), {**risky, "site-cervical_risk_accepted": "y"})
    assert response.status_code == 302


def test_a_time_out_sent_twice_is_recorded_once(client, login, pending, provider, staff, db):
    login(Role.PROVIDER, provider)
    page = client.get(url(pending)).get_data(as_text=True)
    key = re.search(r'name="submission_key" value="([^"]+)"', page).group(1)
    form = {**_time_out_form(pending, staff), "submission_key": key}
    first = client.post_form(url(pending, "/time-out"), form, token_from=url(pending))
    again = client.post_form(url(pending, "/time-out"), form, token_from=url(pending))
    assert first.status_code == again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"]
    db.session.expire_all()
    assert len(_audits(db, "timeout.confirmed", pending)) == 1
    assert len(_audits(db, "stage.started", pending)) == 1
