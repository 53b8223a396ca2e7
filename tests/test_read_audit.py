"""Every page that shows patient data writes one read event naming the patients it showed;
reading the audit trail and account pages is audited; the trail is filterable by patient,
exportable as formula-safe CSV, and cannot be truncated on PostgreSQL."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.mail import OutboxMessage
from clinic.models import audit
from clinic.models.audit import AuditEvent, audit_event_patient
from clinic.timeutil import to_clinic
from tests import factories
from tests.careteam_helpers import appointment_today, join_care_team


def _events(db, action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def _shown(db, event: AuditEvent) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(audit_event_patient.c.patient_id).where(
                audit_event_patient.c.audit_event_id == event.id
            )
        )
    )


@pytest.fixture
def visit(db):
    """A visit booked for now with a provider (on today's calendars and board)."""
    return appointment_today(factories.make_user(Role.PROVIDER), factories.PatientFactory())


@pytest.mark.parametrize(
    ("url", "action"),
    [
        ("/schedule/day", "schedule.day_viewed"),
        ("/schedule/day?view=rooms", "schedule.day_viewed"),
        ("/schedule/board", "schedule.board_viewed"),
        ("/schedule/day/print", "schedule.printed"),
    ],
)
def test_day_pages_write_one_event_naming_the_patients(client, login, db, visit, url, action):
    login(Role.FRONT_DESK)
    assert client.get(url).status_code == 200
    (event,) = _events(db, action)
    assert _shown(db, event) == {visit.patient_id}


def test_week_calendar_is_audited(client, login, db, visit):
    login(Role.FRONT_DESK)
    day = to_clinic(visit.starts_at).date().isoformat()
    assert client.get(f"/schedule/week?provider={visit.provider_id}&day={day}").status_code == 200
    (event,) = _events(db, "schedule.week_viewed")
    assert _shown(db, event) == {visit.patient_id}


def test_the_boards_refresh_writes_no_row_but_its_first_view_does(client, login, db, visit):
    login(Role.FRONT_DESK)
    client.get("/schedule/board")
    for _ in range(3):
        assert client.get("/schedule/board/rows").status_code == 200
    assert len(_events(db, "schedule.board_viewed")) == 1


def test_recall_list_is_audited(client, login, db):
    from tests.journeys.records import placeholders

    ids = placeholders()
    login(Role.FRONT_DESK)
    assert client.get("/schedule/recalls?show=all").status_code == 200
    (event,) = _events(db, "recalls.viewed")
    assert _shown(db, event) == {ids["journey_patient"]}


def test_front_desk_home_is_audited(client, login, db):
    login(Role.FRONT_DESK)
    client.get("/front-desk")
    assert len(_events(db, "front_desk.viewed")) == 1


def test_worklist_names_the_patients_it_showed(client, login, db):
    provider = factories.make_user(Role.PROVIDER)
    patient = factories.PatientFactory()
    join_care_team(provider, patient)
    from clinic.journeys import models as m
    from clinic.journeys.states import StageKind

    journey = db.session.scalars(sa.select(m.Journey).where(m.Journey.provider_id == provider.id))
    journey = journey.one()
    db.session.add(m.Stage(journey_id=journey.id, kind=StageKind.EVALUATION))
    db.session.flush()
    login(Role.PROVIDER, provider)
    client.get("/clinical/worklist")
    (event,) = _events(db, "worklist.viewed")
    assert _shown(db, event) == {patient.id}


def test_outbox_list_and_message_are_audited(client, login, db):
    patient = factories.PatientFactory(email="ada.reads@x.example.com")
    message = OutboxMessage(recipient="ada.reads@x.example.com", subject="Hello", body="b")
    db.session.add(message)
    db.session.flush()
    login(Role.FRONT_DESK)
    client.get("/outbox")
    client.get(f"/outbox/{message.id}")
    (listed,) = _events(db, "outbox.viewed")
    (opened,) = _events(db, "outbox.message_viewed")
    assert _shown(db, listed) == {patient.id} == _shown(db, opened)


def test_account_pages_and_audit_reads_are_audited(client, login, db):
    patient_user = factories.make_user(Role.PATIENT)
    admin = login(Role.ADMIN)
    client.get("/account")
    client.get(f"/admin/users/{patient_user.id}")
    client.get("/admin/users?show=all")
    client.get(f"/admin/audit?patient_id={patient_user.patient_id}")
    (own,) = [e for e in _events(db, "account.viewed") if e.object_id == str(admin.id)]
    (other,) = [e for e in _events(db, "account.viewed") if e.object_id == str(patient_user.id)]
    assert own.actor_id == admin.id and other.patient_id == patient_user.patient_id
    (listing,) = _events(db, "account.list_viewed")
    assert patient_user.patient_id in _shown(db, listing)
    (search,) = _events(db, "audit.searched")
    assert search.patient_id == patient_user.patient_id


def test_who_looked_at_my_record_includes_list_views(client, login, db, visit):
    reader = login(Role.FRONT_DESK)
    client.get("/schedule/day")
    client.post_form("/logout", token_from="/account")
    login(Role.ADMIN)
    html = client.get(f"/admin/audit?patient_id={visit.patient_id}").get_data(as_text=True)
    assert "schedule.day_viewed" in html and reader.email in html
    other = client.get(f"/admin/audit?patient_id={visit.patient_id + 999}")
    assert other.status_code == 200  # no such patient: nothing found, and the search audited
    assert "schedule.day_viewed" not in other.get_data(as_text=True)


def test_the_audit_trail_finds_a_patient_by_record_number(client, login, db, visit):
    """Staff know a patient by the record number: the patient filter takes it (or the id),
    and anything else is said beside the field, the rest of the search kept."""
    reader = login(Role.FRONT_DESK)
    client.get("/schedule/day")
    client.post_form("/logout", token_from="/account")
    login(Role.ADMIN)
    mrn = visit.patient.mrn
    by_mrn = client.get(f"/admin/audit?patient_id={mrn.lower()}&action=schedule.")
    html = by_mrn.get_data(as_text=True)
    assert by_mrn.status_code == 200 and "schedule.day_viewed" in html and reader.email in html
    searched = [e for e in _events(db, "audit.searched") if e.patient_id == visit.patient_id]
    assert searched  # the search is audited against the patient found
    for typed, message in (
        ("abc", "Give the patient&#39;s record number"),
        ("0", "Give the patient&#39;s record number"),
        ("99999999999", "Give the patient&#39;s record number"),
        ("ZZ999999", "No patient has the record number ZZ999999."),
    ):
        page = client.get(f"/admin/audit?patient_id={typed}&action=schedule.")
        text = page.get_data(as_text=True)
        assert message in text and "changed in transit" not in text, text[-2000:]
        assert 'value="schedule."' in text and "schedule.day_viewed" not in text


def test_an_audit_search_with_its_days_the_wrong_way_round_says_so(client, login, db):
    login(Role.ADMIN)
    page = client.get("/admin/audit?date_from=2026-11-20&date_to=2026-11-01")
    html = page.get_data(as_text=True)
    assert "The last day is before the first" in html and 'value="2026-11-20"' in html


def test_audit_export_is_csv_formula_safe_and_audited(client, login, db):
    patient = factories.PatientFactory()
    audit.record("test.exported", patient_id=patient.id, detail='=HYPERLINK("http://x")')
    audit.record("test.exported", patient_id=patient.id, detail="+1-2")
    db.session.flush()
    login(Role.ADMIN)
    url = f"/admin/audit/export.csv?patient_id={patient.id}&action=test."
    response = client.get(url, buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed  # rows go out as they are read, not built in memory
    body = response.get_data(as_text=True)
    response.close()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "when" and len(rows) == 3
    details = {r[-1] for r in rows[1:]}
    assert details == {'\'=HYPERLINK("http://x")', "'+1-2"}
    (event,) = _events(db, "audit.exported")
    assert event.patient_id == patient.id


def test_the_app_role_cannot_truncate_the_audit_trail(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE triggers are a PostgreSQL feature; SQLite has no TRUNCATE")
    audit.record("test.event", detail="keep me")
    db.session.flush()
    for statement in (
        "TRUNCATE audit_event CASCADE",
        "TRUNCATE audit_event, audit_event_patient",
        "TRUNCATE audit_event_patient",
    ):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.session.begin_nested():
            db.session.execute(sa.text(statement))
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) >= 1


def test_list_rows_cannot_be_changed(db):
    patient = factories.PatientFactory()
    audit.record("test.list", patients=[patient.id])
    db.session.flush()
    for statement in (
        "UPDATE audit_event_patient SET patient_id = patient_id",
        "DELETE FROM audit_event_patient",
    ):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.session.begin_nested():
            db.session.execute(sa.text(statement))
