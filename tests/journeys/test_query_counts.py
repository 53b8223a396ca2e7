"""The worklist and the chart run the same number of SQL queries for 5 or 500 journeys."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from clinic.auth.models import Role
from clinic.journeys import models as m
from clinic.journeys.services import kept
from clinic.journeys.states import JourneyStatus, StageKind, StageStatus, Therapy
from clinic.models.base import utcnow
from tests.factories import PatientFactory


@contextmanager
def counted():
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", count)


def build(db, provider, author, n: int, patient=None):
    """n journeys, each with an evaluation in progress (ticked item, a note) and a cycle whose
    collection is completed, awaiting signature."""
    condition = db.session.scalar(sa.select(m.Condition).limit(1))
    template = db.session.scalar(
        sa.select(m.ChecklistTemplate).where(m.ChecklistTemplate.stage_kind == StageKind.EVALUATION)
    )
    item = template.items[0]
    now = utcnow()
    for i in range(n):
        journey = m.Journey(
            patient=patient or PatientFactory(),
            therapy=list(Therapy)[i % 4],
            provider_id=provider.id,
            status=JourneyStatus.IN_TREATMENT,
        )
        journey.conditions = [condition]
        journey.targets = [m.TargetSite(level="L4-L5", side="left", structure="disc")]
        cycle = m.Cycle(journey=journey, number=1)
        evaluation = m.Stage(
            journey=journey,
            kind=StageKind.EVALUATION,
            status=StageStatus.IN_PROGRESS,
            checklist_template=template,
            started_at=now,
        )
        collection = m.Stage(
            journey=journey,
            cycle=cycle,
            kind=StageKind.COLLECTION,
            status=StageStatus.COMPLETED,
            completed_at=now,
            completed_by_id=author.id,
        )
        pending = m.Stage(journey=journey, cycle=cycle, kind=StageKind.PROCESSING)
        db.session.add_all([journey, cycle, evaluation, collection, pending])
        db.session.flush()
        db.session.add(
            m.ChecklistTick(stage_id=evaluation.id, item_id=item.id, ticked_by_id=author.id)
        )
        db.session.add(m.StageNote(stage_id=evaluation.id, author_id=author.id, body=f"n{i}"))
    db.session.flush()


def _count(client, path):
    client.get(path)  # warm caches (templates, first-request set-up)
    with counted() as statements:
        response = client.get(path)
    assert response.status_code == 200
    return len(statements), response.get_data(as_text=True)


def _grew_fivefold(few_html: str, many_html: str) -> bool:
    return len(many_html) > len(few_html) * 5  # the larger set really was rendered


def _first_page_and_capped_counts(few_html: str, many_html: str) -> bool:
    """The worklist shows its first rows per section; the counts say the sections are full."""
    return "Show all 200+" in many_html and many_html.count("Show all") == 3


@pytest.mark.parametrize(
    ("path_for", "grew"),
    [
        pytest.param(lambda p: "/clinical/worklist", _first_page_and_capped_counts, id="worklist"),
        pytest.param(
            lambda p: "/clinical/worklist?section=in_progress", _grew_fivefold, id="worklist-all"
        ),
        pytest.param(lambda p: f"/clinical/patients/{p.id}/chart", _grew_fivefold, id="chart"),
    ],
)
def test_same_query_count_for_5_and_500_journeys(client, db, login, make_user, path_for, grew):
    provider = make_user(Role.PROVIDER)
    author = make_user(Role.CLINICAL_STAFF)
    patient = PatientFactory()
    login(Role.PROVIDER, provider)
    build(db, provider, author, 5, patient=patient)
    few, few_html = _count(client, path_for(patient))
    build(db, provider, author, 495, patient=patient)
    many, many_html = _count(client, path_for(patient))
    assert few == many, (few, many)
    assert grew(few_html, many_html)


def test_the_banner_is_worked_out_once_per_page(client, db, login, make_user, monkeypatch):
    """The chart shows the banner and its safety panel: one banner_for, not one per include
    (the panel's earlier contraindications come from the banner too)."""
    from clinic.journeys import banner
    from clinic.journeys.services import screening

    calls = []
    real = banner.banner_for
    monkeypatch.setattr(banner, "banner_for", lambda patient: calls.append(1) or real(patient))
    monkeypatch.setattr(screening, "earlier_absolutes", None)  # not read again
    provider = make_user(Role.PROVIDER)
    patient = PatientFactory()
    login(Role.PROVIDER, provider)
    build(db, provider, make_user(Role.CLINICAL_STAFF), 1, patient=patient)
    assert client.get(f"/clinical/patients/{patient.id}/chart").status_code == 200
    assert len(calls) == 1


def _team_queries_bound(client) -> list[int]:
    """Parameters bound into the worklist's stage queries and its urgent-messages query."""
    client.get("/clinical/worklist")
    kept.forget()  # the sections' statement runs again (not its kept rows)
    bound: list[int] = []

    def params(conn, cursor, statement, parameters, *args):
        if "own_first" in statement or "FROM message_thread" in statement:
            bound.append(len(parameters or ()))

    event.listen(Engine, "before_cursor_execute", params)
    try:
        assert client.get("/clinical/worklist").status_code == 200
    finally:
        event.remove(Engine, "before_cursor_execute", params)
    return bound


def test_the_care_team_is_joined_in_the_database_not_bound_as_ids(client, db, login, make_user):
    """A provider's care team can be thousands of patients: the worklist's statements ask the
    database for it (a subquery), so their bound parameters do not grow with the team, and
    the page still tells the provider's own patients from the others'."""
    provider = make_user(Role.PROVIDER)
    other = make_user(Role.PROVIDER)
    author = make_user(Role.CLINICAL_STAFF)
    build(db, provider, author, 3)
    build(db, other, author, 1)
    outsider = db.session.scalar(
        sa.select(m.Journey).where(m.Journey.provider_id == other.id)
    ).patient
    login(Role.PROVIDER, provider)
    few = _team_queries_bound(client)
    build(db, provider, author, 40)
    many = _team_queries_bound(client)
    assert len(few) == 2 and few == many, (few, many)  # the sections' statement, messages
    html = client.get("/clinical/worklist").get_data(as_text=True)
    assert html.count("your patient</span>") == 3 * 25  # three full first pages
    html = client.get("/clinical/worklist?section=ready").get_data(as_text=True)
    assert html.count("your patient</span>") == 43 + 2 * 25
    row = html[html.index(outsider.display_name) :]
    assert "not on your team" in row[: row.index("</td>")]


def test_the_injection_page_names_its_time_out_team_in_a_fixed_number_of_queries(
    client, db, login, make_user, journey, provider, staff, staff2
):
    """The time-out team is read with its users (it once found them only because the page had
    read every clinician for the form's choices): 2 or 7 members, the same statements."""
    from clinic.journeys import walkthrough as walk

    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    walk.process(journey, staff, staff2)
    stage = walk.stage_of(journey, StageKind.INJECTION)
    path = f"/clinical/journeys/{journey.id}/stages/{stage.id}"
    record = db.session.get(m.InjectionRecord, stage.id)
    record.timeout_confirmed_at, record.timeout_confirmed_by_id = utcnow(), provider.id
    stage.status, stage.started_at = StageStatus.IN_PROGRESS, utcnow()

    def confirm(user):
        db.session.add(
            m.TimeoutMember(
                stage_id=stage.id, user_id=user.id, confirmed_at=utcnow(), confirmed_by="password"
            )
        )
        db.session.flush()

    for user in (provider, staff):
        confirm(user)
    login(Role.PROVIDER, provider)
    few, _ = _count(client, path)
    others = [make_user(Role.CLINICAL_STAFF, full_name=f"Nurse Extra {i}") for i in range(5)]
    for user in others:
        confirm(user)
    db.session.expunge_all()  # no user left in the identity map to be found by luck
    many, many_html = _count(client, path)
    assert few == many, (few, many)
    team = many_html[many_html.index('id="timeout-team"') :].split("</ul>")[0]
    for user in (provider, staff, *others):
        assert f"<li>{user.full_name} confirmed" in team


def test_the_stage_page_names_note_writers_in_a_fixed_number_of_queries(
    client, db, login, make_user, journey, provider, staff
):
    """Notes and checklist ticks come with their writers' names (each writer was once a
    statement of their own): one writer or five, the same statements."""
    from clinic.journeys import walkthrough as walk

    walk.evaluate(journey, provider)
    walk.collect(journey, staff)
    stage = walk.stage_of(journey, StageKind.COLLECTION)
    path = f"/clinical/journeys/{journey.id}/stages/{stage.id}"
    db.session.add(m.StageNote(stage_id=stage.id, author_id=staff.id, body="Collected well."))
    db.session.flush()
    login(Role.PROVIDER, provider)
    few, _ = _count(client, path)
    writers = [make_user(Role.CLINICAL_STAFF, full_name=f"Nurse Writer {i}") for i in range(4)]
    names = [user.full_name for user in writers]
    for user in writers:
        db.session.add(
            m.StageNote(stage_id=stage.id, author_id=user.id, body="Seen.", is_addendum=True)
        )
    db.session.flush()
    db.session.expunge_all()  # no writer left in the identity map to be found by luck
    many, many_html = _count(client, path)
    assert few == many, (few, many)
    for name in names:
        assert f"{name} · " in many_html
