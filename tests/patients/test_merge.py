"""Merging a duplicate patient record: the preview, the move of everything attached, the
retired record, the refusals (portal accounts, stale versions, clashing visits) and the review."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from clinic.auth.models import Role, User
from clinic.errors import Refused, StaleWrite
from clinic.journeys import models as m
from clinic.journeys.services import journeys
from clinic.journeys.states import Therapy
from clinic.models.audit import AuditEvent
from clinic.patients import merge as merging
from clinic.patients import services as patient_services
from clinic.patients.models import Patient, PatientAllergy, PatientMerge
from clinic.scheduling.models import Appointment
from tests.factories import PatientFactory, make_user
from tests.scheduling.factories import make_appointment


@pytest.fixture
def pair(db):
    survivor = PatientFactory(
        given_name="Danielle", family_name="Marsh", date_of_birth=date(1980, 5, 1)
    )
    retired = PatientFactory(given_name="Dana", family_name="Marsh", date_of_birth=date(1980, 5, 1))
    return survivor, retired


def _attach_everything(db, retired):
    provider = make_user(Role.PROVIDER)
    visit = make_appointment(patient=retired, provider=provider)
    condition = db.session.scalar(sa.select(m.Condition).where(m.Condition.code == "M51.362"))
    journey = journeys.open_journey(
        retired,
        therapy=Therapy.PRP,
        provider=provider,
        condition_ids=[condition.id],
        targets=[("L4-L5", "midline", "disc")],
        by=provider,
    )
    allergy = PatientAllergy(
        patient_id=retired.id, substance="Latex", reaction="rash", recorded_by_id=provider.id
    )
    db.session.add(allergy)
    account = make_user(Role.PATIENT, patient=retired)
    db.session.flush()
    return provider, visit, journey, allergy, account


def test_every_table_that_refers_to_a_patient_moves_and_has_plain_words(db):
    tables = {column.table.name for column in merging.patient_references()}
    assert {
        "appointment",
        "journey",
        "questionnaire_response",
        "follow_up",
        "user_account",
    } <= tables
    assert tables.isdisjoint(merging.NOT_MOVED)
    assert tables <= set(merging.TABLE_WORDS), "add plain words for a new table"


def test_merge_moves_everything_retires_the_duplicate_and_audits(db, pair):
    survivor, retired = pair
    admin = make_user(Role.ADMIN)
    _, visit, journey, allergy, account = _attach_everything(db, retired)
    plan = merging.plan(survivor, retired)
    assert not plan.problems and plan.total >= 4
    assert {"appointment", "journey", "patient_allergy", "user_account"} <= {
        move.table for move in plan.moves
    }
    visit_version = visit.version
    record = merging.merge(
        survivor,
        retired,
        by=admin,
        reason="registered twice",
        survivor_version=survivor.version,
        retired_version=retired.version,
    )
    db.session.expire_all()
    assert db.session.get(Appointment, visit.id).patient_id == survivor.id
    assert db.session.get(Appointment, visit.id).version == visit_version + 1
    assert db.session.get(m.Journey, journey.id).patient_id == survivor.id
    assert db.session.get(PatientAllergy, allergy.id).patient_id == survivor.id
    assert db.session.get(User, account.id).patient_id == survivor.id
    old = db.session.get(Patient, retired.id)
    assert old.merged_into_id == survivor.id and old.merged_at is not None
    moved = json.loads(record.moved)
    assert moved["appointment"] == [visit.id] and moved["journey"] == [journey.id]
    assert json.loads(record.retired_snapshot)["mrn"] == retired.mrn
    details = db.session.scalars(
        sa.select(AuditEvent.detail).where(AuditEvent.action == "patient.merged")
    ).all()
    assert len(details) == 1 and f"merged {retired.mrn} into {survivor.mrn}" in details[0]
    assert "appointments 1" in details[0]
    # the retired record is no longer offered by search or the duplicate check
    found = db.session.scalars(patient_services.search_query("Marsh").query).all()
    assert found == [db.session.get(Patient, survivor.id)]


def test_both_portal_accounts_refuse_unless_the_duplicates_is_closed(db, pair):
    survivor, retired = pair
    admin = make_user(Role.ADMIN)
    kept = make_user(Role.PATIENT, patient=survivor)
    closed = make_user(Role.PATIENT, patient=retired)
    assert merging.plan(survivor, retired).both_portal
    versions = dict(survivor_version=survivor.version, retired_version=retired.version)
    with pytest.raises(Refused, match="Both records have a portal account"):
        merging.merge(survivor, retired, by=admin, reason="same", **versions)
    merging.merge(survivor, retired, by=admin, reason="same", close_retired_portal=True, **versions)
    db.session.expire_all()
    assert db.session.get(User, kept.id).patient_id == survivor.id
    account = db.session.get(User, closed.id)
    assert account.patient_id == retired.id and not account.active


def test_a_stale_preview_is_refused(db, pair):
    survivor, retired = pair
    admin = make_user(Role.ADMIN)
    with pytest.raises(StaleWrite):
        merging.merge(
            survivor,
            retired,
            by=admin,
            reason="same",
            survivor_version=survivor.version,
            retired_version=retired.version - 1,
        )
    assert db.session.get(Patient, retired.id).merged_into_id is None


def test_clashing_visits_and_merged_records_are_refused(db, pair):
    survivor, retired = pair
    admin = make_user(Role.ADMIN)
    start = datetime(2030, 3, 4, 15, 0, tzinfo=UTC)
    make_appointment(patient=survivor, starts_at=start)
    make_appointment(patient=retired, starts_at=start)
    plan = merging.plan(survivor, retired)
    assert plan.clashes and "same time" in plan.problems[0]
    with pytest.raises(Refused, match="same time"):
        merging.merge(
            survivor,
            retired,
            by=admin,
            reason="same",
            survivor_version=survivor.version,
            retired_version=retired.version,
        )
    assert merging.plan(survivor, survivor).problems == ["Choose two different records."]


def test_the_admin_previews_merges_and_reviews_in_the_browser_flow(client, login, db, pair):
    survivor, retired = pair
    login(Role.ADMIN)
    make_appointment(patient=retired)
    chosen = client.get(f"/admin/merges/new?a={survivor.id}&find_b=dana%20marsh")
    html = chosen.get_data(as_text=True)
    assert f"/admin/merges/new?a={survivor.id}&amp;b={retired.id}" in html
    preview = client.get(f"/admin/merges/new?a={survivor.id}&b={retired.id}").get_data(as_text=True)
    assert 'id="merge-preview"' in preview and "Appointments: 1" in preview
    assert (
        f"Marsh, Dana ({retired.mrn}) will be merged into Marsh, Danielle ({survivor.mrn})"
        in preview
    )
    swapped = client.get(f"/admin/merges/new?a={survivor.id}&b={retired.id}&keep=b")
    assert f"Marsh, Danielle ({survivor.mrn}) will be merged into" in swapped.get_data(as_text=True)
    form = {
        "survivor": str(survivor.id),
        "retired": str(retired.id),
        "survivor_version": str(survivor.version),
        "retired_version": str(retired.version),
        "reason": "registered twice at the desk",
    }
    done = client.post_form("/admin/merges/new", form, token_from="/admin/merges/new")
    assert done.status_code == 302
    detail = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "registered twice at the desk" in detail and "Appointments: 1" in detail
    listing = client.get("/admin/merges").get_data(as_text=True)
    assert retired.mrn in listing and "appointments 1" in listing
    # the retired record's page leads to the survivor
    moved = client.get(f"/patients/{retired.id}")
    assert moved.status_code == 302 and moved.headers["Location"].endswith(
        f"/patients/{survivor.id}"
    )
    again = client.post_form(
        "/admin/merges/new", {**form, "reason": "again"}, token_from="/admin/merges/new"
    )
    assert (  # sent again from the same page: the records changed since its preview
        again.status_code == 409
        and db.session.scalar(sa.select(sa.func.count(PatientMerge.id))) == 1
    )


def test_a_merge_without_a_reason_is_refused_beside_the_field(client, login, db, pair):
    survivor, retired = pair
    login(Role.ADMIN)
    form = {
        "survivor": str(survivor.id),
        "retired": str(retired.id),
        "survivor_version": str(survivor.version),
        "retired_version": str(retired.version),
        "reason": "",
    }
    response = client.post_form("/admin/merges/new", form, token_from="/admin/merges/new")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="reason-error"' in html
    assert db.session.get(Patient, retired.id).merged_into_id is None


@pytest.mark.parametrize("survivor_has_one", [False, True])
def test_message_consent_merges_to_the_stricter_of_the_two(db, pair, survivor_has_one):
    from clinic.messaging import services as messaging
    from clinic.messaging.models import MessagePreference

    survivor, retired = pair
    opted_out = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    db.session.add(
        MessagePreference(
            patient_id=retired.id,
            email_ok=True,
            sms_ok=False,
            opted_out_at=opted_out,
            opted_out_how="STOP reply",
        )
    )
    if survivor_has_one:
        db.session.add(MessagePreference(patient_id=survivor.id, email_ok=True, sms_ok=True))
    db.session.flush()
    assert "message_preference" in merging.ONE_ROW_MERGERS
    assert messaging.merge_preferences is merging.ONE_ROW_MERGERS["message_preference"]
    merging.merge(
        survivor,
        retired,
        by=make_user(Role.ADMIN),
        reason="registered twice",
        survivor_version=survivor.version,
        retired_version=retired.version,
    )
    db.session.expire_all()
    assert db.session.get(MessagePreference, retired.id) is None
    kept = db.session.get(MessagePreference, survivor.id)
    assert kept.sms_ok is False  # a "no" on either record stays a "no"
    assert kept.opted_out_at == opted_out and kept.opted_out_how == "STOP reply"


def test_a_merge_sent_from_a_stale_preview_is_a_conflict_that_merges_after_checking(
    client, login, db, pair
):
    survivor, retired = pair
    login(Role.ADMIN)
    form = {
        "survivor": str(survivor.id),
        "retired": str(retired.id),
        "survivor_version": str(survivor.version),
        "retired_version": str(retired.version - 1),
        "reason": "Same person, registered twice",
    }
    response = client.post_form("/admin/merges/new", form, token_from="/admin/merges/new")
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "changed since the preview" in html
    assert "Same person, registered twice" in html
    assert db.session.get(Patient, retired.id).merged_into_id is None
    form["retired_version"] = str(retired.version)
    done = client.post_form("/admin/merges/new", form, token_from="/admin/merges/new")
    assert done.status_code == 302
