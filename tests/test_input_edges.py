"""Input is bounded at the edge: each rule once, by the behaviour a user or an attacker sees."""

from __future__ import annotations

import ast
import io
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest
from wtforms import DecimalField, IntegerField, SelectField, StringField, TextAreaField

from clinic.auth.models import Role
from clinic.forms import MAX_ID, ClinicForm, VersionField
from clinic.journeys import models as m
from clinic.journeys import walkthrough as walk
from clinic.journeys.bounds import BOUNDS
from clinic.journeys.services import journeys, stages
from clinic.journeys.states import StageKind, Therapy
from clinic.limits import too_large_message
from clinic.patients.models import Patient
from clinic.scheduling.export import attachment, calendar_filename
from tests import factories
from tests.patients.test_patients import FORM as PATIENT


def _patient(db, **where) -> Patient | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Patient).filter_by(**where))


# --- text: control, bidi-override and zero-width characters, lengths -------------------------


@pytest.mark.parametrize("bad", ["Ro\x00sa", "Ro\x07sa", "Ro\nsa", "\u202eRosa"])
def test_control_and_bidi_characters_in_a_name_are_refused_beside_the_field(client, login, db, bad):
    login(Role.FRONT_DESK)
    response = client.post_form("/patients/new", {**PATIENT, "given_name": bad})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Remove the" in html or "Keep this on one line" in html
    assert "Lindgren-Åberg" in html  # the rest of the input is kept
    assert _patient(db, family_name="Lindgren-Åberg") is None


def test_zero_width_characters_are_stripped_from_a_name(client, login, db):
    login(Role.FRONT_DESK)
    response = client.post_form("/patients/new", {**PATIENT, "given_name": "Ro\u200bsa\ufeff"})
    assert response.status_code == 302
    assert _patient(db, family_name="Lindgren-Åberg").given_name == "Rosa"


def test_spaces_around_a_pasted_email_address_are_dropped(client, login, db):
    login(Role.FRONT_DESK)
    sent = {**PATIENT, "email": " rosa@example.com\t"}
    response = client.post_form("/patients/new", sent)
    assert response.status_code == 302
    assert _patient(db, family_name="Lindgren-Åberg").email == "rosa@example.com"


def test_nul_on_the_public_forgot_password_page_is_not_a_server_error(client, db):
    response = client.post_form("/portal/forgot", {"email": "a\x00@example.com"})
    assert response.status_code < 500


def test_multi_line_text_keeps_tabs_and_line_breaks_but_not_other_controls():
    with Flask(__name__).test_request_context(method="POST"):

        class Note(ClinicForm):
            class Meta:
                csrf = False

            body = TextAreaField()
            name = StringField()

        ok = Note(MultiDict({"body": "line one\n\tline two\r\n", "name": "x"}))
        assert ok.validate()
        bad = Note(MultiDict({"body": "a\x0bb", "name": "x"}))
        assert not bad.validate() and bad.body.errors
        long_name = Note(MultiDict({"body": "x", "name": "n" * 501}))
        assert not long_name.validate() and "under 500" in long_name.name.errors[0]


def test_a_checklist_item_longer_than_its_column_is_refused_beside_the_field(client, login, db):
    login(Role.ADMIN)
    url = "/admin/clinical/checklists/new?kind=injection&therapy="
    response = client.post_form(url, {"title": "Injection", "items": "x" * 301})
    assert response.status_code in (400, 422)
    assert "keep each item under 300 characters" in response.get_data(as_text=True)


# --- numbers and ids -----------------------------------------------------------------------


def test_form_numbers_stay_inside_what_the_database_holds():
    with Flask(__name__).test_request_context(method="POST"):

        class Numbers(ClinicForm):
            class Meta:
                csrf = False

            count = IntegerField()
            amount = DecimalField()
            who = SelectField(coerce=int, validate_choice=False, choices=[])

        for data in (
            {"count": str(2**31)},
            {"count": str(2**63)},
            {"amount": "Infinity"},
            {"amount": "1e30"},
            {"who": str(2**31)},
            {"who": "-5"},
        ):
            form = Numbers(MultiDict(data))
            assert not form.validate(), data
        assert Numbers(MultiDict({"count": "12", "amount": "3.5", "who": "7"})).validate()


@pytest.mark.parametrize("bad", ["", "1.5", "abc", "²", str(MAX_ID + 1), "-1"])
def test_a_version_must_be_present_and_a_whole_number(bad):
    with Flask(__name__).test_request_context(method="POST"):

        class Edit(ClinicForm):
            class Meta:
                csrf = False

            version = VersionField()

        with pytest.raises(BadRequest):  # hidden: nothing the user could correct beside it
            Edit(MultiDict({"version": bad})).validate()
        assert Edit(MultiDict({"version": "3"})).validate()


@pytest.mark.parametrize("big", [str(2**31), str(2**63), "9" * 30])
def test_an_id_too_large_for_the_database_in_a_url_is_not_found(client, login, db, big):
    login(Role.FRONT_DESK)
    assert client.get(f"/patients/{big}").status_code == 404
    assert client.get(f"/schedule/appointments/{big}").status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "/schedule/day?date=9999-12-31",
        "/schedule/day?date=0001-01-01",
        "/schedule/day?date=2026-02-30",
        "/schedule/week?provider=2147483648",
        "/schedule/week?date=9999-12-31",
        "/schedule/board?date=0001-01-01",
        "/schedule/day/print?date=9999-12-31",
        "/schedule/day/print?provider=-3",
        "/schedule/recalls?page=1000000000000000000000000000000",
    ],
)
def test_bad_numbers_and_dates_in_a_query_string_are_a_400(client, login, db, query):
    login(Role.FRONT_DESK)
    assert client.get(query).status_code == 400


def test_slot_and_audit_searches_refuse_impossible_dates_without_a_server_error(client, login, db):
    login(Role.ADMIN)
    assert client.get("/schedule/slots?kind=follow_up&day=9999-12-31").status_code == 400
    response = client.get("/admin/audit?date_from=0001-01-01&patient_id=9223372036854775808")
    assert response.status_code == 200
    assert "Enter a date from" in response.get_data(as_text=True)


@pytest.fixture
def journey(db):
    provider = factories.make_user(Role.PROVIDER)
    condition = db.session.scalar(sa.select(m.Condition).limit(1))
    journey = journeys.open_journey(
        factories.PatientFactory(),
        therapy=Therapy.PRP,
        provider=provider,
        condition_ids=[condition.id],
        targets=[("L4-L5", "midline", "disc")],
        by=provider,
    )
    return journey, provider


def test_a_stage_save_without_its_version_is_refused_and_saves_nothing(client, login, db, journey):
    journey, provider = journey
    stage = journey.evaluation
    login(Role.PROVIDER, provider)
    url = f"/clinical/journeys/{journey.id}/stages/{stage.id}"
    for version in (None, "1.5", str(2**40)):
        data = {"pain_location": "Saved without a version"}
        if version is not None:
            data["version"] = version
        assert client.post_form(url, data).status_code == 400
    record = journeys.record_of(stage)
    db.session.refresh(record)
    assert record.pain_location != "Saved without a version"


def test_an_injected_volume_beyond_the_plausible_is_refused_in_the_form_and_the_database(
    client, login, db, journey
):
    journey, provider = journey
    staff = factories.make_user(Role.CLINICAL_STAFF)
    walk.evaluate(journey, provider)
    walk.collect(journey, provider)
    walk.process(journey, provider, staff)
    stage = walk.stage_of(journey, StageKind.INJECTION)
    stages.start_stage(stage, provider)
    walk.tick_all(stage, provider)
    walk.time_out(stage, provider)
    login(Role.PROVIDER, provider)
    url = f"/clinical/journeys/{journey.id}/stages/{stage.id}/sites"
    fields = {"level": "L4-L5", "side": "midline", "structure": "disc", "approach": "intradiscal"}
    response = client.post_form(
        url, {**fields, "volume_ml": "999999"}, token_from=url.rsplit("/", 1)[0]
    )
    assert response.status_code in (400, 422)
    assert "Enter a value above 0 and up to 60" in response.get_data(as_text=True)
    assert BOUNDS["injection_site"]["volume_ml"].high == 60
    db.session.add(journeys.record_of(stage))
    db.session.flush()
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.add(m.InjectionSite(stage_id=stage.id, volume_ml=Decimal("999999"), **fields))
        db.session.flush()


def test_a_questionnaire_window_opening_in_9999_is_refused(client, login, db):
    login(Role.PROVIDER)
    patient = factories.PatientFactory()
    response = client.post_form(
        f"/patients/{patient.id}/outcomes/assign",
        {"timepoint": "baseline", "region": "lumbar", "available_from": "9999-01-01"},
        token_from=f"/patients/{patient.id}/outcomes",
    )
    assert response.status_code < 500
    from clinic.outcomes.models import QuestionnaireResponse

    assert (
        db.session.scalar(
            sa.select(QuestionnaireResponse).where(QuestionnaireResponse.patient_id == patient.id)
        )
        is None
    )


@pytest.mark.parametrize(
    ("role", "url"),
    [
        (Role.FRONT_DESK, "/outbox"),
        (Role.FRONT_DESK, "/messages/sms-outbox"),
        (Role.ADMIN, "/admin/messages"),
    ],
)
def test_a_page_number_too_large_for_the_database_is_a_400_on_every_paged_list(
    client, login, db, role, url
):
    login(role)
    assert client.get(f"{url}?page=99999999999999999999").status_code == 400
    assert client.get(f"{url}?page=abc").status_code == 400
    assert client.get(f"{url}?page=2147483647").status_code == 200


def test_every_paged_list_names_its_page_number():
    """db.paginate left to read ?page= itself takes a number of any size to the database."""
    unnamed = [
        f"{path}:{node.lineno}"
        for path in Path("clinic").rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and getattr(node.func, "attr", None) == "paginate"
        and not any(k.arg == "page" for k in node.keywords)
    ]
    assert unnamed == []


# --- the request itself ----------------------------------------------------------------------


def test_a_file_part_where_text_is_expected_is_a_400(client, login, db):
    login(Role.FRONT_DESK)
    token = client.csrf_token("/patients/new")
    data = {**PATIENT, "csrf_token": token, "given_name": (io.BytesIO(b"Rosa"), "name.txt")}
    response = client.post("/patients/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert _patient(db, family_name="Lindgren-Åberg") is None


def test_a_body_over_the_limit_gets_the_413_page(client, db, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit and limit <= 10 * 1024 * 1024
    response = client.post("/portal/forgot", data={"email": "x" * (limit + 1)})
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "larger than the clinic accepts (1 MB), so it was not saved" in page
    assert "Too much to send" in page and response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("limit", "words"),
    [(1048576, "1 MB"), (1572864, "1.5 MB"), (524288, "512 KB"), (900, "900 bytes")],
)
def test_the_413_page_names_the_limit_as_people_write_it(limit, words):
    assert f"accepts ({words})," in too_large_message(limit)


# --- downloads ---------------------------------------------------------------------------------


def test_a_calendar_file_name_works_for_any_clinician_name(client, login, db):
    login(Role.FRONT_DESK)
    clinician = factories.make_user(Role.PROVIDER, full_name="Dr. Zoë 王\nSmith-Jones")
    response = client.get(f"/schedule/clinicians/{clinician.id}/calendar.ics")
    assert response.status_code == 200
    header = response.headers["Content-Disposition"]
    assert "\n" not in header and header.isascii()
    assert "filename*=UTF-8''appointments-dr-zo%C3%AB-%E7%8E%8B-smith-jones.ics" in header
    assert calendar_filename(clinician) == "appointments-dr-zoë-王-smith-jones.ics"
    assert attachment('a"b.ics').startswith('attachment; filename="a_b.ics"')
