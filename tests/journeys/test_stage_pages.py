"""Stage pages through HTTP: drafts, refused transitions, 409 conflicts, time-out hard stop,
checklist required items, notes and addenda, access by role and by record."""

from __future__ import annotations

import re

import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from bench.load import form_fields
from clinic.auth.models import Role
from clinic.journeys import models as m
from clinic.journeys import walkthrough as walk
from clinic.journeys.services import gating, journeys, stages
from clinic.journeys.states import StageKind, StageStatus
from clinic.models.audit import AuditEvent
from tests.factories import PASSWORD


def url(stage, tail=""):
    return f"/clinical/journeys/{stage.journey_id}/stages/{stage.id}{tail}"


def shown_on_page(client, stage) -> str:
    """The ticks the stage page shows, as its checklist form sends them back."""
    page = client.get(url(stage)).get_data(as_text=True)
    return re.search(r'name="shown" type="hidden" value="([0-9,]*)"', page)[1]


def test_provider_saves_an_evaluation_draft(client, login, journey, provider, db):
    login(Role.PROVIDER, provider)
    stage = journey.evaluation
    response = client.post_form(
        url(stage),
        {
            "version": "1",
            "pain_location": "Low back",
            "pain_duration_months": "14",
            "decision": "more_workup",
        },
    )
    assert response.status_code == 302
    record = journeys.record_of(stage)
    db.session.refresh(record)
    assert record.pain_location == "Low back" and record.pain_duration_months == 14
    db.session.refresh(stage)
    assert stage.status is StageStatus.IN_PROGRESS
    page = client.get(url(stage)).get_data(as_text=True)
    assert "Complete stage is not available yet" in page
    assert "more work-up" in page


def test_bad_input_is_shown_beside_the_field_and_nothing_saved(
    client, login, journey, provider, db
):
    login(Role.PROVIDER, provider)
    stage = journey.evaluation
    response = client.post_form(
        url(stage), {"version": "1", "pain_location": "Neck", "pain_duration_months": "-3"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="pain_duration_months-error"' in html
    assert 'value="Neck"' in html  # the rest of the input is kept
    db.session.refresh(stage)
    assert stage.status is StageStatus.PENDING


def test_stale_save_gets_409_with_newer_values_and_keeps_input(
    client, login, journey, provider, db
):
    stage = journey.evaluation
    stages.save_stage(stage, {"pain_location": "Saved by a colleague"}, provider)
    db.session.flush()
    login(Role.PROVIDER, provider)
    response = client.post_form(url(stage), {"version": "1", "pain_location": "My entry"})
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "Someone else saved this stage" in html
    assert "Saved by a colleague" in html
    assert 'value="My entry"' in html
    record = journeys.record_of(stage)
    db.session.refresh(record)
    assert record.pain_location == "Saved by a colleague"


def test_refused_transition_is_explained(client, login, journey, provider, staff, db):
    walk.evaluate(journey, provider)
    processing = walk.stage_of(journey, StageKind.PROCESSING)
    login(Role.CLINICAL_STAFF, staff)
    response = client.post_form(
        url(processing, "/start"),
        {"version": str(processing.version)},
        token_from=url(processing),
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "Not done: Processing needs a collected specimen" in html
    db.session.refresh(processing)
    assert processing.status is StageStatus.PENDING


def test_a_start_sent_from_an_older_page_is_a_conflict(client, login, journey, provider, staff, db):
    walk.evaluate(journey, provider)
    collection = walk.stage_of(journey, StageKind.COLLECTION)
    login(Role.CLINICAL_STAFF, staff)
    response = client.post_form(
        url(collection, "/start"),
        {"version": str(collection.version + 1)},
        token_from=url(collection),
    )
    assert response.status_code == 409
    db.session.refresh(collection)
    assert collection.status is StageStatus.PENDING


def test_front_desk_cannot_open_chart_or_stage(client, login, journey, db):
    login(Role.FRONT_DESK)
    assert client.get(f"/clinical/patients/{journey.patient_id}/chart").status_code == 403
    assert client.get(url(journey.evaluation)).status_code == 403


def test_stage_is_reached_only_through_its_own_journey(client, login, make_journey, provider, db):
    one, two = make_journey(), make_journey()
    login(Role.PROVIDER, provider)
    response = client.get(f"/clinical/journeys/{one.id}/stages/{two.evaluation.id}")
    assert response.status_code == 404


def test_time_out_mismatch_is_a_hard_stop_and_audited(
    client, login, journey, provider, staff, staff2, db
):
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    walk.process(journey, staff, staff2)
    injection = walk.stage_of(journey, StageKind.INJECTION)
    stages.start_stage(injection, provider)
    walk.tick_all(injection, provider)
    db.session.flush()
    login(Role.PROVIDER, provider)
    response = client.post_form(
        url(injection, "/time-out"),
        {
            "members-0-user_id": str(staff.id),
            "members-0-password": PASSWORD,
            "specimen_code": "SP-WRONG1",
        },
        token_from=url(injection),
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "STOP: the syringe does not match this patient" in html
    record = journeys.record_of(injection)
    db.session.refresh(record)
    assert record.timeout_confirmed_at is None
    stops = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "timeout.specimen_mismatch")
    ).all()
    assert len(stops) == 1 and "SP-WRONG1" in stops[0].detail
    code = gating.specimen_of(injection.cycle).code
    response = client.post_form(
        url(injection, "/time-out"),
        {
            "members-0-user_id": str(staff.id),
            "members-0-password": PASSWORD,
            "specimen_code": code.lower(),
        },
        token_from=url(injection),
    )
    assert response.status_code == 302
    db.session.refresh(record)
    assert record.timeout_confirmed_at is not None


def test_required_checklist_items_block_completion(client, login, journey, provider, db):
    walk.evaluate(journey, provider)
    collection = walk.stage_of(journey, StageKind.COLLECTION)
    walk.collect(journey, provider, complete=False)
    required = [i for i in collection.checklist_template.items if i.required]
    optional = [i for i in collection.checklist_template.items if not i.required]
    login(Role.PROVIDER, provider)
    client.post_form(
        url(collection, "/checklist"),
        {
            "item_ids": [str(i.id) for i in required[:-1] + optional],
            "shown": shown_on_page(client, collection),
        },
        token_from=url(collection),
    )
    response = client.post_form(
        url(collection, "/complete"),
        {"version": str(collection.version)},
        token_from=url(collection),
        follow_redirects=True,
    )
    assert "required checklist item(s) are not ticked" in response.get_data(as_text=True)
    db.session.refresh(collection)
    assert collection.status is StageStatus.IN_PROGRESS
    client.post_form(
        url(collection, "/checklist"),
        {"item_ids": [str(i.id) for i in required], "shown": shown_on_page(client, collection)},
        token_from=url(collection),
    )
    tick = db.session.scalar(
        sa.select(m.ChecklistTick).where(m.ChecklistTick.stage_id == collection.id).limit(1)
    )
    assert tick.ticked_by_id == provider.id and tick.ticked_at is not None
    db.session.refresh(collection)
    client.post_form(
        url(collection, "/complete"),
        {"version": str(collection.version)},
        token_from=url(collection),
    )
    db.session.refresh(collection)
    assert collection.status is StageStatus.COMPLETED
    assert collection.checklist_template.version == 1


def test_notes_become_addenda_after_signing_and_originals_stay(
    client, login, journey, provider, db
):
    stage = journey.evaluation
    login(Role.PROVIDER, provider)
    client.post_form(url(stage, "/notes"), {"body": "Original finding."}, token_from=url(stage))
    walk.evaluate(journey, provider)  # completes and signs
    response = client.post_form(
        url(stage), {"version": str(stage.version), "pain_location": "changed"}
    )
    assert response.status_code == 422  # a signed stage's fields are locked
    assert "add an addendum instead" in response.get_data(as_text=True)
    client.post_form(
        url(stage, "/notes"), {"body": "Correction: left side."}, token_from=url(stage)
    )
    notes = db.session.scalars(
        sa.select(m.StageNote).where(m.StageNote.stage_id == stage.id).order_by(m.StageNote.id)
    ).all()
    assert [(n.body, n.is_addendum) for n in notes] == [
        ("Original finding.", False),
        ("Correction: left side.", True),
    ]
    html = client.get(f"/clinical/patients/{journey.patient_id}/chart").get_data(as_text=True)
    assert "Original finding." in html and "Addendum" in html
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "stage.addendum"))


def test_provider_opens_a_journey_from_the_chart(client, login, provider, db):
    from tests.careteam_helpers import appointment_today
    from tests.factories import PatientFactory

    patient = PatientFactory()
    appointment_today(provider, patient)  # the evaluation visit puts them on the care team
    condition = db.session.scalar(sa.select(m.Condition).where(m.Condition.code == "M54.50"))
    login(Role.PROVIDER, provider)
    new = f"/clinical/patients/{patient.id}/journeys/new"
    response = client.post_form(
        new,
        {
            "therapy": "bmac",
            "provider_id": str(provider.id),
            "level": "L5-S1",
            "side": "left",
            "structure": "facet",
        },
    )
    assert response.status_code == 422 and "Choose at least one." in response.get_data(True)
    response = client.post_form(
        new,
        {
            "therapy": "bmac",
            "provider_id": str(provider.id),
            "condition_ids": [str(condition.id)],
            "level": "L5-S1",
            "side": "left",
            "structure": "facet",
        },
    )
    assert response.status_code == 302
    journey = db.session.scalar(sa.select(m.Journey).where(m.Journey.patient_id == patient.id))
    assert journey.therapy.value == "bmac" and journey.targets[0].display == "L5-S1 left facet"
    html = client.get(f"/clinical/patients/{patient.id}/chart").get_data(as_text=True)
    assert "Bone marrow aspirate concentrate" in html and "Evaluation" in html


def test_label_shows_identifiers(client, login, journey, provider, staff, db):
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    specimen = gating.specimen_of(journey.cycles[0])
    login(Role.CLINICAL_STAFF, staff)
    html = client.get(f"/clinical/journeys/{journey.id}/specimens/{specimen.id}/label").get_data(
        as_text=True
    )
    patient = journey.patient
    for text in (
        specimen.code,
        patient.display_name,
        patient.mrn,
        f"{patient.date_of_birth.day} {patient.date_of_birth:%b %Y}",
        "Platelet-rich plasma",
        "data:image/svg+xml",
    ):
        assert text in html


def test_rules_between_fields_are_shown_beside_the_field(client, login, journey, provider, db):
    login(Role.PROVIDER, provider)
    stage = journey.evaluation
    response = client.post_form(
        url(stage), {"version": "1", "decision": "not_candidate", "pain_location": "Neck"}
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="decision_reason-error"' in html and "Give the reason" in html
    assert 'value="Neck"' in html
    response = client.post_form(url(stage), {"version": "1", "consent_form_version": "C-1"})
    assert 'id="consent_signed_at-error"' in response.get_data(as_text=True)
    db.session.refresh(stage)
    assert stage.status is StageStatus.PENDING  # nothing half-written


def test_reopen_is_offered_only_where_it_is_allowed(client, login, journey, provider, staff, db):
    walk.evaluate(journey, provider)
    collection = walk.collect(journey, staff)
    login(Role.PROVIDER, provider)
    html = client.get(url(collection)).get_data(as_text=True)
    assert "Reopen to correct" not in html and "Custody has moved on" in html


def test_provider_adds_targets_and_sets_diagnoses(client, login, journey, provider, staff, db):
    condition = db.session.scalar(sa.select(m.Condition).where(m.Condition.code == "M47.816"))
    login(Role.PROVIDER, provider)
    stage_url = url(journey.evaluation)
    client.post_form(
        f"/clinical/journeys/{journey.id}/targets",
        {"level": "L5-S1", "side": "bilateral", "structure": "facet"},
        token_from=stage_url,
    )
    client.post_form(
        f"/clinical/journeys/{journey.id}/conditions",
        {"condition_ids": [str(condition.id)]},
        token_from=stage_url,
    )
    db.session.refresh(journey)
    assert [t.display for t in journey.targets] == ["L4-L5 midline disc", "L5-S1 bilateral facet"]
    assert [c.code for c in journey.conditions] == ["M47.816"]
    client.post_form("/logout", token_from=stage_url)
    login(Role.CLINICAL_STAFF, staff)
    response = client.post_form(
        f"/clinical/journeys/{journey.id}/targets",
        {"level": "C5-C6", "side": "left", "structure": "facet"},
        token_from=stage_url,
    )
    assert response.status_code == 403
    assert "a provider&#39;s decisions" in response.get_data(as_text=True)


def test_a_target_is_added_once_even_when_sent_twice(client, login, journey, provider, db):
    login(Role.PROVIDER, provider)
    page = client.get(url(journey.evaluation)).get_data(as_text=True)
    form = re.search(r'<form[^>]*id="target-form".*?</form>', page, re.S)[0]
    key = re.search(r'name="submission_key" value="([^"]+)"', form)[1]
    target = {"level": "L5-S1", "side": "bilateral", "structure": "facet"}
    for _ in range(2):  # a double click
        client.post_form(
            f"/clinical/journeys/{journey.id}/targets",
            {**target, "submission_key": key},
            token_from=url(journey.evaluation),
        )
    response = client.post_form(  # the same target again, from a fresh page
        f"/clinical/journeys/{journey.id}/targets",
        target,
        token_from=url(journey.evaluation),
        follow_redirects=True,
    )
    assert "already in the plan" in response.get_data(as_text=True)
    db.session.refresh(journey)
    assert [t.display for t in journey.targets] == ["L4-L5 midline disc", "L5-S1 bilateral facet"]


def test_a_refused_target_or_diagnosis_comes_back_beside_its_field(
    client, login, journey, provider, db
):
    """The evaluation page again (422) with the choices kept and the reason beside the field,
    not a redirect with a message at the top."""
    login(Role.PROVIDER, provider)
    stage_url = url(journey.evaluation)
    target = {"level": "L4-L5", "side": "midline", "structure": "disc"}  # already planned
    response = client.post_form(
        f"/clinical/journeys/{journey.id}/targets", target, token_from=stage_url
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in re.search(r'<select[^>]*id="structure"[^>]*>', page)[0]
    assert "already in the plan" in page[page.index('id="structure-error"') :][:200]
    assert re.search(r'<option selected value="L4-L5">|<option value="L4-L5" selected>', page)
    response = client.post_form(
        f"/clinical/journeys/{journey.id}/conditions", {}, token_from=stage_url
    )
    assert response.status_code == 422
    assert 'id="condition_ids-error"' in response.get_data(as_text=True)
    db.session.refresh(journey)
    assert [t.display for t in journey.targets] == ["L4-L5 midline disc"]


def test_contraindications_are_ticked_as_checkboxes(client, login, journey, provider, db):
    smoking = db.session.scalar(
        sa.select(m.Contraindication).where(m.Contraindication.code == "smoking")
    )
    login(Role.PROVIDER, provider)
    stage = journey.evaluation
    response = client.post_form(
        url(stage),
        {
            "version": "1",
            "contraindication_ids": [str(smoking.id)],
            "relative_acknowledgement": "Counselled; accepts slower healing.",
        },
    )
    assert response.status_code == 302
    record = journeys.record_of(stage)
    db.session.refresh(record)
    assert [c.code for c in record.contraindications] == ["smoking"]
    html = client.get(url(stage)).get_data(as_text=True)
    assert f'value="{smoking.id}" id="contraindication_ids-{smoking.id}" checked' in html
    assert "Contraindication screen</legend>" in html


def test_a_checklist_saved_from_an_older_page_is_a_conflict_not_an_untick(
    client, login, journey, provider, db
):
    """Two tabs open on the same checklist: the second save must not undo the first's ticks."""
    walk.evaluate(journey, provider)
    collection = walk.stage_of(journey, StageKind.COLLECTION)
    walk.collect(journey, provider, complete=False)
    first, second = collection.checklist_template.items[:2]
    login(Role.PROVIDER, provider)
    older_page = client.get(url(collection)).get_data(as_text=True)
    assert 'name="shown" type="hidden" value=""' in older_page
    saved = client.post_form(
        url(collection, "/checklist"),
        {"item_ids": [str(first.id)], "shown": ""},
        token_from=url(collection),
    )
    assert saved.status_code == 302
    stale = client.post_form(
        url(collection, "/checklist"),
        {"item_ids": [str(second.id)], "shown": ""},  # what the older page showed
        token_from=url(collection),
    )
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    assert "Someone else saved this stage after you opened it" in html
    assert first.text in html
    assert f'value="{second.id}" id="item-{second.id}" checked' in html  # the entry is kept
    assert f'name="shown" type="hidden" value="{first.id}"' in html  # saving again works
    ticked = db.session.scalars(
        sa.select(m.ChecklistTick.item_id).where(m.ChecklistTick.stage_id == collection.id)
    ).all()
    assert ticked == [first.id]
    again = client.post_form(
        url(collection, "/checklist"),
        {"item_ids": [str(first.id), str(second.id)], "shown": str(first.id)},
        token_from=url(collection),
    )
    assert again.status_code == 302
    ticked = db.session.scalars(
        sa.select(m.ChecklistTick.item_id).where(m.ChecklistTick.stage_id == collection.id)
    ).all()
    assert sorted(ticked) == sorted([first.id, second.id])


def test_a_checklist_save_that_does_not_say_what_its_page_showed_is_a_conflict(
    client, login, journey, provider, db
):
    """A save without the ticks its page showed (an old or hand-made request) could undo a
    colleague's ticks unseen: it is refused as stale, with the entry kept and the saved ticks."""
    walk.evaluate(journey, provider)
    collection = walk.stage_of(journey, StageKind.COLLECTION)
    walk.collect(journey, provider, complete=False)
    first, second = collection.checklist_template.items[:2]
    login(Role.PROVIDER, provider)
    saved = client.post_form(
        url(collection, "/checklist"),
        {"item_ids": [str(first.id)], "shown": shown_on_page(client, collection)},
        token_from=url(collection),
    )
    assert saved.status_code == 302
    blank = client.post_form(
        url(collection, "/checklist"),
        {"item_ids": [str(second.id)], "shown": "  "},
        token_from=url(collection),
    )
    assert blank.status_code == 409  # nothing shown ticked: not what is saved (it was a 500)
    unsaid = client.post_form(
        url(collection, "/checklist"), {"item_ids": [str(second.id)]}, token_from=url(collection)
    )
    assert unsaid.status_code == 409
    html = unsaid.get_data(as_text=True)
    assert "Someone else saved this stage after you opened it" in html
    assert f'value="{second.id}" id="item-{second.id}" checked' in html  # the entry is kept
    assert f'name="shown" type="hidden" value="{first.id}"' in html  # saving again works
    ticked = db.session.scalars(
        sa.select(m.ChecklistTick.item_id).where(m.ChecklistTick.stage_id == collection.id)
    ).all()
    assert ticked == [first.id]


def _chart_form(client, journey, action: str) -> MultiDict:
    """The fields of the chart's form posting to `action`, as a browser sends them."""
    page = client.get(f"/clinical/patients/{journey.patient_id}/chart").get_data(as_text=True)
    assert f'action="{action}"' in page, action
    return MultiDict(form_fields(page, action))


def test_a_journey_is_ended_from_the_chart_as_the_page_sends_it(
    client, login, journey, provider, db
):
    """The chart's "End this journey" form: refused without a reason (422, the form open, the
    reason beside its field), then done with one; it sends what the page renders, no more."""
    login(Role.PROVIDER, provider)
    action = f"/clinical/journeys/{journey.id}/end/cancel"
    fields = _chart_form(client, journey, action)
    response = client.post(action, data=fields)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    box = re.search(rf'<input[^>]*id="reason-{journey.id}"[^>]*>', page)[0]
    assert 'aria-invalid="true"' in box
    assert "Give the reason." in page[page.index(f'id="reason-{journey.id}-error"') :][:100]
    assert re.search(r'<details class="mt-2" open>\s*<summary>End this journey', page)
    db.session.refresh(journey)
    assert journey.status.value == "evaluating"
    fields["reason"] = "Moved abroad"
    response = client.post(action, data=fields)
    assert response.status_code == 302
    db.session.refresh(journey)
    assert journey.status.value == "cancelled" and journey.status_reason == "Moved abroad"


def test_a_repeat_treatment_is_started_from_the_chart_as_the_page_sends_it(
    client, login, journey, provider, staff, staff2, db
):
    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    walk.process(journey, staff, staff2)
    walk.inject(journey, provider)
    walk.recover(journey, staff)
    login(Role.PROVIDER, provider)
    action = f"/clinical/journeys/{journey.id}/repeat"
    response = client.post(action, data=_chart_form(client, journey, action))
    assert response.status_code == 302
    db.session.refresh(journey)
    assert journey.status.value == "in_treatment" and len(journey.cycles) == 2


def test_a_stage_cancelled_without_a_reason_keeps_the_form_open_with_the_reason_beside_it(
    client, login, journey, provider, db
):
    login(Role.PROVIDER, provider)
    stage = journey.evaluation
    action = url(stage, "/cancel")
    page = client.get(url(stage)).get_data(as_text=True)
    fields = MultiDict(form_fields(page, action))
    fields["reason"] = "   "
    response = client.post(action, data=fields)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(r'<details class="mt-3" open>\s*<summary>Cancel this stage', page)
    assert 'aria-invalid="true"' in re.search(r'<input[^>]*id="reason"[^>]*>', page)[0]
    assert "Give the reason." in page[page.index('id="reason-error"') :][:100]
    db.session.refresh(stage)
    assert stage.status is not StageStatus.CANCELLED


def test_a_refused_target_comes_back_with_its_fold_open(client, login, journey, provider):
    """A refused target or diagnosis list is shown inside its fold, opened: a closed one hid
    the reason and the page looked as if nothing had happened."""
    login(Role.PROVIDER, provider)
    stage_url = url(journey.evaluation)
    target = {"level": "L4-L5", "side": "midline", "structure": "disc"}  # already planned
    page = client.post_form(
        f"/clinical/journeys/{journey.id}/targets", target, token_from=stage_url
    ).get_data(as_text=True)
    assert "<details open><summary>Add a target site" in page
    assert '<details class="mb-2"><summary>Change the diagnoses' in page
    page = client.post_form(
        f"/clinical/journeys/{journey.id}/conditions", {}, token_from=stage_url
    ).get_data(as_text=True)
    assert '<details class="mb-2" open><summary>Change the diagnoses' in page
    assert "<details><summary>Add a target site" in page
