"""Admins edit checklists (versioned), conditions and follow-up protocols as data."""

from __future__ import annotations

import re

import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.journeys import models as m
from clinic.journeys import walkthrough as walk
from clinic.journeys.services import checklists
from clinic.journeys.states import StageKind, Therapy
from clinic.models.audit import AuditEvent


def test_new_checklist_version_applies_to_new_stages_only(client, login, journey, provider, db):
    stage = journey.evaluation
    walk.stages.start_stage(stage, provider)
    old = stage.checklist_template
    login(Role.ADMIN)
    url = "/admin/clinical/checklists/new?kind=evaluation&therapy="
    response = client.post_form(
        url,
        {
            "title": "Evaluation checklist",
            "items": "Identity checked\n(optional) Coffee offered",
            "based_on": _based_on(client, url),
        },
    )
    assert response.status_code == 302
    current = checklists.current_template(StageKind.EVALUATION, Therapy.PRP)
    assert current.version == old.version + 1
    assert [(i.text, i.required) for i in current.items] == [
        ("Identity checked", True),
        ("Coffee offered", False),
    ]
    db.session.refresh(stage)
    assert stage.checklist_template_id == old.id  # the stage keeps the version it used
    db.session.refresh(old)
    assert old.active is False and len(old.items) == 5


def _based_on(client, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="based_on" type="hidden" value="([0-9]*)"', page)[1]


def test_a_checklist_published_from_an_older_page_does_not_drop_a_newer_version(client, login, db):
    """Two admins open the same checklist; the second publish (or the same one sent twice)
    must not replace the first's items unseen: a 409 with what is published now."""
    login(Role.ADMIN)
    url = "/admin/clinical/checklists/new?kind=injection&therapy=prp"
    based_on = _based_on(client, url)
    first = {"title": "Injection", "items": "Time-out done\nLevel marked", "based_on": based_on}
    assert client.post_form(url, first).status_code == 302
    again = client.post_form(url, first)  # a double click, or the older tab's copy
    assert again.status_code == 409
    stale = client.post_form(url, {**first, "items": "Time-out done", "based_on": based_on})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "Someone else saved a version of this checklist after you opened it" in html
    assert "Time-out done; Level marked" in html  # what is published now
    assert "\nTime-out done</textarea>" in html  # the entry is kept
    current = checklists.current_template(StageKind.INJECTION, Therapy.PRP)
    assert [i.text for i in current.items] == ["Time-out done", "Level marked"]
    fresh = re.search(r'name="based_on" type="hidden" value="([0-9]+)"', html)[1]
    assert fresh == str(current.version)
    unsaid = client.post_form(url, {"title": "Injection", "items": "Time-out done"})
    assert unsaid.status_code == 409  # a publish that does not say what it was based on
    saved = client.post_form(url, {**first, "items": "Time-out done", "based_on": fresh})
    assert saved.status_code == 302
    assert checklists.current_template(StageKind.INJECTION, Therapy.PRP).version == int(fresh) + 1


def test_protocol_edit_drives_generated_follow_ups(client, login, db):
    login(Role.ADMIN)
    url = "/admin/clinical/follow-up-protocols/bmac"
    seen = re.search(r'name="seen" type="hidden" value="([0-9,]+)"', client.get(url).text)[1]
    bad = client.post_form(url, {"steps": "3 months | ninety | 10 | 10", "seen": seen})
    assert bad.status_code == 422 and "whole numbers" in bad.get_data(as_text=True)
    ok = client.post_form(
        url, {"steps": "3 months | 91 | 21 | 23\n12 months | 365 | 60 | 60", "seen": seen}
    )
    assert ok.status_code == 302
    labels = db.session.scalars(
        sa.select(m.FollowUpProtocolStep.label).where(
            m.FollowUpProtocolStep.therapy == Therapy.BMAC, m.FollowUpProtocolStep.active
        )
    ).all()
    assert labels == ["3 months", "12 months"]


def test_a_protocol_saved_from_an_older_page_does_not_replace_a_newer_one(client, login, db):
    """Two admins open the BMAC protocol; the second save must not silently undo the first."""
    login(Role.ADMIN)
    url = "/admin/clinical/follow-up-protocols/bmac"
    page = client.get(url).get_data(as_text=True)
    seen = re.search(r'name="seen" type="hidden" value="([0-9,]+)"', page)[1]
    first = client.post_form(url, {"steps": "3 months | 91 | 21 | 23", "seen": seen})
    assert first.status_code == 302
    stale = client.post_form(url, {"steps": "6 months | 182 | 30 | 30", "seen": seen})
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "Someone else saved this protocol after you opened it" in html
    assert "3 months (day 91)" in html and "6 months | 182 | 30 | 30" in html  # entry kept
    active = sa.select(m.FollowUpProtocolStep).where(
        m.FollowUpProtocolStep.therapy == Therapy.BMAC, m.FollowUpProtocolStep.active
    )
    (step,) = db.session.scalars(active).all()
    assert step.label == "3 months"
    assert f'name="seen" type="hidden" value="{step.id}"' in html  # saving again works
    again = client.post_form(url, {"steps": "6 months | 182 | 30 | 30", "seen": str(step.id)})
    assert again.status_code == 302
    assert [s.label for s in db.session.scalars(active)] == ["6 months"]


def test_a_protocol_save_that_does_not_say_which_steps_its_page_showed_is_stale(client, login, db):
    """Without the steps its page showed, a save could replace a colleague's newer protocol
    unseen: it is refused as stale and the protocol stays as it was."""
    login(Role.ADMIN)
    url = "/admin/clinical/follow-up-protocols/bmac"
    active = sa.select(m.FollowUpProtocolStep.label).where(
        m.FollowUpProtocolStep.therapy == Therapy.BMAC, m.FollowUpProtocolStep.active
    )
    before = db.session.scalars(active).all()
    blank = client.post_form(url, {"steps": "6 months | 182 | 30 | 30", "seen": " "})
    assert blank.status_code == 409  # no steps shown: not the ones saved (it was a 500)
    unsaid = client.post_form(url, {"steps": "6 months | 182 | 30 | 30"})
    assert unsaid.status_code == 409
    html = unsaid.get_data(as_text=True)
    assert "Someone else saved this protocol after you opened it" in html
    assert "6 months | 182 | 30 | 30" in html  # the entry is kept
    assert db.session.scalars(active).all() == before
    seen = re.search(r'name="seen" type="hidden" value="([0-9,]+)"', html)[1]
    again = client.post_form(url, {"steps": "6 months | 182 | 30 | 30", "seen": seen})
    assert again.status_code == 302
    assert db.session.scalars(active).all() == ["6 months"]


def test_condition_catalogue(client, login, db):
    login(Role.ADMIN)
    response = client.post_form(
        "/admin/clinical/conditions", {"code": "m54.16", "name": "Lumbar radiculopathy"}
    )
    assert response.status_code == 302
    condition = db.session.scalar(sa.select(m.Condition).where(m.Condition.code == "M54.16"))
    assert condition.active
    duplicate = client.post_form("/admin/clinical/conditions", {"code": "M54.16", "name": "again"})
    assert duplicate.status_code == 422 and "already" in duplicate.get_data(as_text=True)
    page = client.get("/admin/clinical/conditions").get_data(as_text=True)
    action = f"/admin/clinical/conditions/{condition.id}/toggle"
    button = re.search(rf'action="{action}">.*?name="active" value="([01])"', page)[1]
    assert button == "0"
    for _ in range(2):  # a double click (or a second tab's button) retires it, once
        client.post_form(action, {"active": button}, token_from="/admin/clinical/conditions")
        db.session.refresh(condition)
        assert condition.active is False
    retired = sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "catalogue.condition_retired"
    )
    assert db.session.scalar(retired) == 1
    assert client.post_form(action, {}, token_from="/admin/clinical/conditions").status_code == 400
    client.post_form(action, {"active": "1"}, token_from="/admin/clinical/conditions")
    db.session.refresh(condition)
    assert condition.active is True


def test_provider_cannot_edit_catalogues(client, login, db):
    login(Role.PROVIDER)
    assert client.get("/admin/clinical/checklists").status_code == 403


def test_every_offered_diagnosis_is_a_valid_billable_icd10cm_code(db):
    import simple_icd_10_cm as cm

    offered = db.session.scalars(sa.select(m.Condition).where(m.Condition.active)).all()
    assert offered
    for condition in offered:
        assert cm.is_valid_item(condition.code), condition.code
        assert cm.is_leaf(condition.code), f"{condition.code} is a category, not billable"
    codes = set(db.session.scalars(sa.select(m.Condition.code)))
    assert not codes & {"M51.36", "M51.37", "M47.890"}  # migrated to M51.369, M51.379, M47.899
    assert {"M51.369", "M51.379", "M47.899", "M51.362"} <= codes


def test_a_journey_on_a_retired_code_is_flagged_on_the_chart(client, login, db, provider):
    from clinic.journeys.services import catalogues, journeys
    from tests import factories

    old = db.session.scalar(sa.select(m.Condition).where(m.Condition.code == "M51.369"))
    journey = journeys.open_journey(
        factories.PatientFactory(),
        therapy=Therapy.PRP,
        provider=provider,
        condition_ids=[old.id],
        targets=[("L4-L5", "midline", "disc")],
        by=provider,
    )
    catalogues.set_condition_active(old, False, factories.make_user(Role.ADMIN))
    db.session.flush()
    login(Role.PROVIDER, provider)
    html = client.get(f"/clinical/patients/{journey.patient_id}/chart").get_data(as_text=True)
    assert "M51.369" in html and "retired code: choose a current diagnosis" in html
