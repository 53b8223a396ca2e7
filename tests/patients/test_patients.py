"""Patient registration, validation, the duplicate warning, edits and search."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.models.audit import AuditEvent
from clinic.patients import services
from clinic.patients.models import ContactMethod, Patient, Sex
from tests.factories import PatientFactory

FORM = {
    "given_name": "Rosa",
    "family_name": "Lindgren-Åberg",
    "date_of_birth": "1971-06-30",
    "sex": "female",
    "phone": "(617) 555-0133",
    "email": "rosa@example.com",
    "preferred_contact": "text",
    "address_line1": "12 Elm St",
    "address_line2": "Apt 3",
    "city": "Boston",
    "region": "MA",
    "postal_code": "02118",
    "emergency_name": "Jon Lindgren",
    "emergency_relationship": "husband",
    "emergency_phone": "617 555 0134",
}


def _patient(db, **where) -> Patient | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(Patient).filter_by(**where))


def test_register_saves_every_field_with_a_new_mrn_and_audits(client, login, db):
    login(Role.FRONT_DESK)
    response = client.post_form("/patients/new", FORM)
    assert response.status_code == 302
    patient = _patient(db, given_name="Rosa")
    assert patient.mrn.startswith("CJ") and patient.family_key == "lindgrenaberg"
    assert patient.preferred_contact is ContactMethod.TEXT and patient.phone_key == "6175550133"
    assert patient.address_lines == ["12 Elm St", "Apt 3", "Boston MA 02118"]
    assert (patient.emergency_name, patient.emergency_phone) == ("Jon Lindgren", "617 555 0134")
    assert (
        db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.patient_id == patient.id))
        == "patient.registered"
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Lindgren-Åberg, Rosa" in page and "Text message" in page


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"date_of_birth": "1971-02-30"}, "date_of_birth", "real date"),
        ({"date_of_birth": "2999-01-01"}, "date_of_birth", "future"),
        ({"date_of_birth": "1850-01-01"}, "date_of_birth", "over 125"),
        ({"phone": "555-01"}, "phone", "10 digits"),
        ({"phone": "call me"}, "phone", "digits, spaces"),
        ({"email": "rosa@"}, "email", "name@example.com"),
        ({"postal_code": "!!"}, "postal_code", "ZIP"),
        ({"emergency_phone": ""}, "emergency_phone", "phone number for the emergency contact"),
        ({"email": "", "preferred_contact": "email"}, "email", "choose another way"),
        ({"given_name": ""}, "given_name", "required"),
    ],
)
def test_bad_input_is_named_beside_its_field_and_nothing_is_saved(
    client, login, db, changes, field, message
):
    login(Role.FRONT_DESK)
    response = client.post_form("/patients/new", {**FORM, **changes})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="{field}-error"' in html and message in html
    assert 'value="Boston"' in html  # the rest of the input is kept
    assert _patient(db, city="Boston") is None


@pytest.mark.parametrize("same", ["name_and_birth_date", "phone"])
def test_a_possible_duplicate_is_shown_before_saving(client, login, db, same):
    login(Role.FRONT_DESK)
    if same == "phone":
        existing = PatientFactory(phone="+1 617-555-0133")
    else:
        existing = PatientFactory(
            given_name="ROSA", family_name="Lindgren Aberg", date_of_birth=date(1971, 6, 30)
        )
    warned = client.post_form("/patients/new", FORM)
    html = warned.get_data(as_text=True)
    assert warned.status_code == 422 and 'id="duplicate-warning"' in html
    assert existing.mrn in html and "different person" in html
    assert _patient(db, city="Boston") is None
    assert f'name="checked" type="hidden" value="{existing.id}"' in html
    saved = client.post_form(
        "/patients/new", {**FORM, "not_duplicate": "y", "checked": str(existing.id)}
    )
    assert saved.status_code == 302 and _patient(db, city="Boston") is not None


def test_different_person_ticked_in_two_tabs_does_not_register_the_same_person_twice(
    client, login, db
):
    """Two tabs (or two desks) are warned about the same existing record and both tick
    'different person': the tick vouches for that record only, so the second save is warned
    about the patient the first one just registered, and nothing is saved twice."""
    login(Role.FRONT_DESK)
    existing = PatientFactory(phone="+1 617-555-0133")
    tabs = [client.post_form("/patients/new", FORM) for _ in range(2)]
    assert [tab.status_code for tab in tabs] == [422, 422]
    blank = client.post_form("/patients/new", {**FORM, "not_duplicate": "y", "checked": " "})
    assert blank.status_code == 422 and existing.mrn in blank.get_data(as_text=True)
    confirmed = {**FORM, "not_duplicate": "y", "checked": str(existing.id)}
    assert client.post_form("/patients/new", confirmed).status_code == 302
    first = _patient(db, city="Boston")
    second = client.post_form("/patients/new", confirmed)
    html = second.get_data(as_text=True)
    assert second.status_code == 422 and first.mrn in html and existing.mrn in html
    assert 'name="not_duplicate" type="checkbox" value="y">' in html  # to tick again
    assert f'name="checked" type="hidden" value="{existing.id},{first.id}"' in html or (
        f'name="checked" type="hidden" value="{first.id},{existing.id}"' in html
    )
    db.session.expire_all()
    assert (
        db.session.scalar(sa.select(sa.func.count(Patient.id)).where(Patient.city == "Boston")) == 1
    )


def test_edit_saves_changes_and_audits_which_fields(client, login, db):
    login(Role.FRONT_DESK)
    patient = PatientFactory(phone="6175550100")
    page = f"/patients/{patient.id}/edit"
    form = client.get(page).get_data(as_text=True)
    assert 'value="6175550100"' in form
    response = client.post_form(page, {**FORM, "version": str(patient.version)})
    assert response.status_code == 302
    detail = db.session.scalar(
        sa.select(AuditEvent.detail).where(AuditEvent.action == "patient.updated")
    )
    assert (
        detail.startswith("changed: given_name, family_name, date_of_birth")
        and "Rosa" not in detail
    )


def test_a_stale_edit_is_a_409_with_saved_values_and_input_kept(client, login, db):
    login(Role.FRONT_DESK)
    patient = PatientFactory(phone="6175550100")
    page = f"/patients/{patient.id}/edit"
    version = str(patient.version)
    first = client.post_form(page, {**FORM, "given_name": "First", "version": version})
    assert first.status_code == 302
    second = client.post_form(
        page, {**FORM, "given_name": "Second", "version": version, "not_duplicate": "y"}
    )
    html = second.get_data(as_text=True)
    assert second.status_code == 409
    assert "Someone else saved" in html and "First Lindgren-Åberg" in html
    assert 'value="Second"' in html
    assert _patient(db, id=patient.id).given_name == "First"


def test_clinicians_view_but_do_not_register_or_edit(client, login, db):
    login(Role.CLINICAL_STAFF)
    patient = PatientFactory()
    page = client.get(f"/patients/{patient.id}").get_data(as_text=True)
    assert patient.mrn in page and "Edit details" not in page
    assert client.get("/patients/new").status_code == 403
    assert client.get(f"/patients/{patient.id}/edit").status_code == 403


def test_register_patient_keeps_its_original_keywords(db):
    patient = services.register_patient(
        given_name=" Ida ",
        family_name="Berg",
        date_of_birth=date(1990, 1, 2),
        sex=Sex.FEMALE,
        phone="617 555 0101",
        email=None,
        by=None,
    )
    assert patient.given_name == "Ida" and patient.preferred_contact is ContactMethod.PHONE
    with pytest.raises(TypeError):
        services.register_patient(
            given_name="A",
            family_name="B",
            date_of_birth=date(1990, 1, 2),
            sex=Sex.MALE,
            shoe_size="44",
        )


@pytest.fixture
def people(db):
    rows = [
        ("Grace", "Okafor", date(1968, 4, 12), "+1 617 555 0142"),
        ("Graham", "Oakes", date(1980, 1, 1), None),
        ("Erik", "Okafor", date(1975, 9, 3), "617-555-0178"),
        ("Okafor", "Smith", date(1990, 2, 2), None),
    ]
    return [
        PatientFactory(given_name=g, family_name=f, date_of_birth=d, phone=p) for g, f, d, p in rows
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("okafor", ["Erik Okafor", "Grace Okafor", "Okafor Smith"]),
        ("Okafor, Gr", ["Grace Okafor"]),
        ("gra", ["Graham Oakes", "Grace Okafor"]),
        ("Grace Oka", ["Grace Okafor"]),
        ("1968-04-12", ["Grace Okafor"]),
        ("04/12/1968", ["Grace Okafor"]),
        ("(617) 555-0178", ["Erik Okafor"]),
        ("16175550142", ["Grace Okafor"]),
        ("nobody", []),
    ],
)
def test_search_by_name_birth_date_or_phone(db, people, query, expected):
    found = db.session.scalars(services.search_query(query).query).all()
    assert sorted(p.full_name for p in found) == sorted(expected)


def test_search_by_mrn_and_the_search_page_pages(client, login, db, people):
    login(Role.FRONT_DESK)
    html = client.get(f"/patients/?q={people[1].mrn.lower()}").get_data(as_text=True)
    assert "Oakes, Graham" in html and "1 patient found" in html
    for n in range(30):
        PatientFactory(given_name=f"Pat{n:02d}", family_name="Zephyr")
    first = client.get("/patients/?q=zephyr").get_data(as_text=True)
    assert "30 patients found" in first and "Zephyr, Pat24" in first and "Pat25" not in first
    second = client.get("/patients/?q=zephyr&page=2").get_data(as_text=True)
    assert "Zephyr, Pat29" in second


def test_a_search_matching_more_than_the_limit_lists_the_first_and_says_to_narrow_it(
    client, login, db, monkeypatch
):
    """Each range of a name search keeps its first SEARCH_LIMIT + 1 matches in the page's order,
    so the results shown are still the first ones, and the count stops past the limit."""
    monkeypatch.setattr(services, "SEARCH_LIMIT", 4)
    for n in range(7):
        PatientFactory(given_name=f"Pat{n}", family_name="Zephyr")
    PatientFactory(given_name="Zephyrine", family_name="Abbott")  # the given-name range
    login(Role.FRONT_DESK)
    html = client.get("/patients/?q=zephyr").get_data(as_text=True)
    assert "More than 4 patients match; the first 4 are listed" in html
    assert "Abbott, Zephyrine" in html and "Zephyr, Pat2" in html and "Pat3" not in html
    # pages stop at the limit: a page past it shows the last one, however far past
    assert "Zephyr, Pat2" in client.get("/patients/?q=zephyr&page=9").get_data(as_text=True)
    for far in ("100000000000000000000", "-5"):
        response = client.get(f"/patients/?q=zephyr&page={far}")
        assert response.status_code == 200, far
    few = client.get("/patients/?q=abbott").get_data(as_text=True)
    assert "1 patient found" in few and "More than" not in few


def test_name_search_is_served_by_an_index(db, people):
    """Prefix searches are ranges over indexed keys, so 100,000 patients stay fast."""
    query = services.search_query("okafor").query
    connection = db.session.connection()
    sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    if connection.dialect.name == "sqlite":
        plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
        text = " ".join(str(row) for row in plan)
        assert "ix_patient_family_key" in text and "ix_patient_given_key" in text
    else:
        # Small tables make the planner prefer a scan; forbid it to prove the index can serve.
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = connection.exec_driver_sql(f"EXPLAIN {sql}").all()
        text = " ".join(row[0] for row in plan)
        assert "ix_patient_family_key" in text and "Seq Scan" not in text


def test_a_name_search_page_reads_only_its_own_patients_rows(db):
    """The matches are sorted and counted from the index ranges' keys; the table is read for
    the page's 25 rows only, not for every match (PostgreSQL, where the ranges are read from
    their indexes alone)."""
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        pytest.skip("the plan is PostgreSQL's")
    for n in range(40):
        PatientFactory(given_name=f"Pat{n:02d}", family_name="Zephyrson")
    db.session.flush()
    terms = services.search_query("zephyrson")
    seen: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, *_args) -> None:
        if "OVER ()" in statement:
            seen.append((statement, parameters))

    engine = db.session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        page = services.search_page(terms, 1, 25)
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    assert page.total == 40 and len(page.items) == 25
    assert [p.given_name for p in page.items][:2] == ["Pat00", "Pat01"]
    (statement, parameters), *_ = seen
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    (plan,) = connection.exec_driver_sql(
        f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters
    ).scalar_one()

    def nodes(node):
        yield node
        for child in node.get("Plans", ()):
            yield from nodes(child)

    table_rows = [
        n["Actual Rows"] * n["Actual Loops"]
        for n in nodes(plan["Plan"])
        if n.get("Relation Name") == "patient" and n.get("Index Name") == "pk_patient"
    ]
    assert table_rows and sum(table_rows) == 25, plan


def test_editing_an_address_does_not_warn_about_a_shared_phone(client, login, db):
    login(Role.FRONT_DESK)
    PatientFactory(phone="617 555 0133")  # e.g. a spouse on the same line
    patient = PatientFactory(
        given_name="Rosa",
        family_name="Lindgren-Åberg",
        date_of_birth=date(1971, 6, 30),
        phone="(617) 555-0133",
    )
    page = f"/patients/{patient.id}/edit"
    response = client.post_form(
        page, {**FORM, "city": "Cambridge", "version": str(patient.version)}
    )
    assert response.status_code == 302 and _patient(db, id=patient.id).city == "Cambridge"
