"""The registry's stored rows stay equal to the records they summarise, whatever changes them:
answers, voids, follow-ups, the product, the journey, a patient merge; at commit, in the same
transaction; and with two transactions changing the same cycle at once. Stored figures are
never read as current once a commit has changed what they were computed from."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import flask_migrate
import pytest
import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.db_setup import begin_write
from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.states import Therapy
from clinic.outcomes import registry, registry_store, services
from clinic.outcomes.models import QuestionnaireResponse
from clinic.outcomes.registry import Filters
from clinic.outcomes.registry_models import (
    IN_WINDOW,
    PAIRED,
    RESPONDER,
    RegistryCycle,
    RegistryFigures,
    RegistryGeneration,
    RegistryPoint,
)
from clinic.patients import merge as patient_merge
from clinic.timeutil import clinic_today
from tests import factories
from tests.conftest import make_test_app
from tests.databases import fresh_url
from tests.journeys.conftest import journey_maker
from tests.outcomes.registry_data import answered, complete, response, treat


def _snapshot() -> tuple[list, list]:
    cycles = db.session.execute(sa.select(RegistryCycle.__table__).order_by("cycle_id")).all()
    points = db.session.execute(sa.select(RegistryPoint.__table__).order_by("response_id")).all()
    return [tuple(r) for r in cycles], [tuple(r) for r in points]


def assert_stored_rows_are_current() -> None:
    """What the transaction's changes left stored equals a recompute from the records."""
    registry_store.refresh_pending()
    kept = _snapshot()
    with db.session.begin_nested() as savepoint:
        registry_store.rebuild()
        fresh = _snapshot()
        savepoint.rollback()
    assert kept == fresh
    assert kept[0], "the scenario should have stored rows"
    db.session.expire_all()  # stored rows are written by Core: reload any the test holds


@pytest.fixture
def two(db, make_journey, provider, staff, staff2):
    first, second = (treat(make_journey, provider, staff, staff2) for _ in range(2))
    answered(first, "odi", 50, 30)
    answered(second, "odi", 40, None)
    return first, second


def test_answers_voids_and_baselines_are_stored_as_they_change(two, provider):
    first, second = two
    assert_stored_rows_are_current()
    six = response(first, "odi", "6 weeks")
    point = db.session.get(RegistryPoint, six.id)
    assert point.kind & (IN_WINDOW | PAIRED | RESPONDER) == IN_WINDOW | PAIRED | RESPONDER
    assert point.change == Decimal("20.0")

    services.void(response(second, "odi", "3 months"), by=provider, reason="assigned twice")
    complete(response(second, "odi", "6 weeks"), 45)  # worse than its baseline of 40
    assert_stored_rows_are_current()
    assert db.session.get(RegistryPoint, response(second, "odi", "3 months").id) is None
    assert db.session.get(RegistryPoint, response(second, "odi", "6 weeks").id).change == -5

    complete(response(first, "odi", "baseline"), 25)  # a corrected baseline re-pairs every answer
    assert_stored_rows_are_current()
    assert db.session.get(RegistryPoint, six.id).change == -5


def test_follow_ups_product_and_journey_changes_are_stored(two, db):
    first, second = two
    follow_up = db.session.get(m.FollowUp, response(first, "odi", "6 weeks").follow_up_id)
    follow_up.later_procedure = "surgery"
    db.session.flush()
    assert_stored_rows_are_current()
    assert db.session.get(RegistryCycle, follow_up.cycle_id).surgery

    follow_up.status = "cancelled"
    db.session.flush()
    assert_stored_rows_are_current()
    assert db.session.get(RegistryPoint, response(first, "odi", "6 weeks").id) is None

    processing = db.session.scalars(
        sa.select(m.ProcessingRecord)
        .join(m.Stage, m.Stage.id == m.ProcessingRecord.stage_id)
        .where(m.Stage.journey_id == second.id)
    ).one()
    processing.paw_class = "P4-Bβ"
    db.session.add(
        m.TargetSite(journey_id=second.id, level="C5-C6", side="left", structure="facet")
    )
    second.therapy = Therapy.BMAC
    db.session.flush()
    assert_stored_rows_are_current()
    stored = db.session.scalars(
        sa.select(RegistryCycle).where(RegistryCycle.journey_id == second.id)
    ).one()
    assert (stored.paw_class, stored.cervical, stored.therapy) == ("P4-Bβ", True, "bmac")
    assert registry.figures(Filters(therapy="bmac", region="cervical")).cycles == 1


def test_a_patient_merge_moves_the_stored_cycles_to_the_survivor(two, db, make_journey):
    from clinic.auth.models import User

    first, second = two
    admin = factories.make_user(Role.ADMIN)
    survivor, retired = first.patient, second.patient
    patient_merge.merge(
        survivor,
        retired,
        by=db.session.get(User, admin.id),
        reason="same person, registered twice",
        survivor_version=survivor.version,
        retired_version=retired.version,
    )
    assert_stored_rows_are_current()
    patients = db.session.scalars(sa.select(sa.distinct(RegistryCycle.patient_id))).all()
    assert patients == [survivor.id]
    assert registry.figures(Filters()).patients == 1


def test_a_request_that_saves_an_answer_stores_its_row_at_commit(
    client, login, make_journey, provider, staff, staff2
):
    journey = treat(make_journey, provider, staff, staff2, days_ago=42)  # 6 weeks: open today
    answered(journey, "nrs_pain", 8, None)
    six = response(journey, "nrs_pain", "6 weeks")
    registry_store.refresh_pending()  # as the fixture's commit would have
    assert db.session.get(RegistryPoint, six.id).kind == 0  # stored, not answered yet
    login(Role.PROVIDER, provider)
    entered = client.post_form(
        f"/questionnaires/{six.id}/enter",
        {"item_axial": "5", "submit": "Submit answers", "version": str(six.version)},
    )
    assert entered.status_code == 302
    db.session.expire_all()
    point = db.session.get(RegistryPoint, six.id)  # stored by the request's own commit
    assert point.kind & (IN_WINDOW | PAIRED) == IN_WINDOW | PAIRED and point.change == 3


@pytest.fixture(scope="module")
def race_app(db_kind):
    """A database of its own with one treated cycle, for transactions that really commit."""
    app = make_test_app(fresh_url(db_kind, "registryrace"))
    with app.app_context():
        flask_migrate.upgrade()
        provider = factories.make_user(Role.PROVIDER)
        staff = factories.make_user(Role.CLINICAL_STAFF)
        staff2 = factories.make_user(Role.CLINICAL_STAFF)
        make_journey = journey_maker(provider, (staff, staff2))
        journey = treat(make_journey, provider, staff, staff2)
        answered(journey, "odi", 50, None)
        answered(journey, "nrs_pain", 8, None)
        db.session.commit()
        app.config["RACE_JOURNEY"] = journey.id
        db.session.remove()
        db.engine.dispose()
    yield app
    with app.app_context():
        db.engine.dispose()


def test_two_transactions_answering_the_same_cycle_both_commit_and_both_are_stored(
    race_app, db_kind, monkeypatch
):
    journey_id = race_app.config["RACE_JOURNEY"]
    refresh, first = registry_store._refresh, threading.Lock()

    def slow_refresh(connection, cycle_ids):
        changed = refresh(connection, cycle_ids)
        if first.acquire(blocking=False):
            time.sleep(0.5)  # the other transaction refreshes the same cycle meanwhile
        return changed

    monkeypatch.setattr(registry_store, "_refresh", slow_refresh)
    with race_app.app_context():  # both transactions write the cycle's first stored rows
        db.session.execute(sa.delete(RegistryPoint))
        db.session.execute(sa.delete(RegistryCycle))
        db.session.commit()
        db.session.remove()
    errors: list[BaseException] = []
    before_flush = threading.Barrier(2) if db_kind == "sqlite" else None
    before_commit = threading.Barrier(2) if db_kind == "postgresql" else None

    def answer(code: str, score: int) -> None:
        try:
            with race_app.app_context():
                if before_flush:
                    before_flush.wait(timeout=30)
                begin_write(db.session)  # as every POST does (SQLite: BEGIN IMMEDIATE)
                resp = db.session.scalars(
                    sa.select(QuestionnaireResponse).where(
                        QuestionnaireResponse.journey_id == journey_id,
                        QuestionnaireResponse.instrument_code == code,
                        QuestionnaireResponse.timepoint == "6 weeks",
                    )
                ).one()
                complete(resp, score)  # flushed: this transaction holds its row
                if before_commit:
                    before_commit.wait(timeout=30)  # both commit (and refresh) at once
                db.session.commit()
                db.session.remove()
        except BaseException as err:
            errors.append(err)

    threads = [
        threading.Thread(target=answer, args=("odi", 30)),
        threading.Thread(target=answer, args=("nrs_pain", 5)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    with race_app.app_context():
        stored = dict(
            db.session.execute(
                sa.select(RegistryPoint.instrument_code, RegistryPoint.change)
                .join(QuestionnaireResponse, QuestionnaireResponse.id == RegistryPoint.response_id)
                .where(QuestionnaireResponse.timepoint == "6 weeks")
            ).all()
        )
        assert stored["odi"] == 20 and stored["nrs_pain"] == 3
        assert_stored_rows_are_current()
        db.session.rollback()
        db.session.remove()


def test_a_deleted_answer_moves_the_generation_on(two):
    first, _second = two
    registry_store.settle()
    generation = db.session.scalar(sa.select(RegistryGeneration.value))
    six = response(first, "odi", "6 weeks")
    db.session.delete(six)  # its stored row goes by ON DELETE CASCADE
    db.session.flush()
    registry_store.settle()
    assert db.session.get(RegistryPoint, six.id) is None
    assert db.session.scalar(sa.select(RegistryGeneration.value)) == generation + 1


@pytest.mark.parametrize("commit_before", ["_aggregates", "_store"])
def test_a_view_racing_a_commit_never_leaves_out_of_date_figures_current(
    race_app, db_kind, monkeypatch, commit_before
):
    """A view reads the generation while a writer's commit is pending; the writer commits just
    before the view aggregates (read-committed: it sees the new rows) or just before it stores
    what it aggregated from the old ones. Either way the figures are filed under the generation
    the view read, which the writer's commit moved on together with its rows: never current.
    The next view recomputes, and what it stores equals the records."""
    if db_kind != "postgresql":
        pytest.skip("SQLite writes one transaction at a time: no commit lands inside a view")
    journey_id = race_app.config["RACE_JOURNEY"]
    bump, aggregates = registry_store.bump_generation, registry._aggregates
    hooked = getattr(registry, commit_before)
    score = {"_aggregates": 10, "_store": 20}[commit_before]  # baseline 50: changes 40 and 30
    bumped, commit_now, committed = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def held_bump(connection):
        bump(connection)
        bumped.set()
        commit_now.wait(timeout=30)  # the new rows and number stay uncommitted meanwhile

    def late(*args):
        commit_now.set()  # the view has read the generation: the writer commits now
        committed.wait(timeout=30)
        return hooked(*args)

    def write() -> None:
        try:
            with race_app.app_context():
                begin_write(db.session)
                resp = db.session.scalars(
                    sa.select(QuestionnaireResponse).where(
                        QuestionnaireResponse.journey_id == journey_id,
                        QuestionnaireResponse.instrument_code == "odi",
                        QuestionnaireResponse.timepoint == "6 weeks",
                    )
                ).one()
                complete(resp, score)
                db.session.commit()
                db.session.remove()
        except BaseException as err:
            errors.append(err)
        finally:
            committed.set()

    with race_app.app_context():
        db.session.execute(sa.delete(RegistryFigures))
        db.session.commit()
        db.session.remove()
    monkeypatch.setattr(registry_store, "bump_generation", held_bump)
    monkeypatch.setattr(registry, commit_before, late)
    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert bumped.wait(timeout=30)
        with race_app.app_context():
            registry.figures(Filters())  # the generation read before the writer's commit
            db.session.commit()
            db.session.remove()
    finally:
        commit_now.set()
        writer.join(timeout=60)
    assert not errors, errors
    monkeypatch.setattr(registry, commit_before, hooked)
    with race_app.app_context():
        current = db.session.scalar(sa.select(RegistryGeneration.value))
        raced = db.session.scalar(sa.select(RegistryFigures.generation))
        assert raced == current - 1  # filed under the number it read: out of date at once
        result = registry.figures(Filters())  # so this view recomputes and stores
        db.session.commit()
        assert db.session.scalar(sa.select(RegistryFigures.generation)) == current
        fresh = registry._figures(Filters(), aggregates(Filters(), clinic_today()))
        assert result == fresh == registry.figures(Filters())
        six = next(t for t in result.timepoints if t.label == "6 weeks")
        assert six.change.n == 1 and six.change.mean == 50 - score
        db.session.rollback()
        db.session.remove()


def test_flask_registry_rebuild_restores_rows_lost_to_a_bulk_write(app, two):
    registry_store.settle()
    kept = _snapshot()
    registry.figures(Filters())  # stored for the current generation
    generation = db.session.scalar(sa.select(RegistryGeneration.value))
    db.session.execute(sa.delete(RegistryPoint))  # e.g. a bulk import past the app
    result = app.test_cli_runner().invoke(args=["registry", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "2 treated cycles" in result.output
    assert _snapshot() == kept
    # figures stored before are out of date (a bulk write may have changed anything): deleted
    assert db.session.scalar(sa.select(RegistryGeneration.value)) == generation + 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RegistryFigures)) == 0


def test_a_save_that_changes_nothing_stored_keeps_the_figures_current(two):
    """A draft saved again with the same answers moves only the response's version and time:
    no cycle is recomputed and the generation (what the dashboard's stored figures are filed
    under) stays; a change of something stored still moves it on."""
    first, _second = two
    registry_store.settle()
    generation = db.session.scalar(sa.select(RegistryGeneration.value))
    six = response(first, "odi", "6 weeks")
    registry_store.settle()
    generation = db.session.scalar(sa.select(RegistryGeneration.value))
    six.version += 1  # what a save of the same draft flushes: version and time, nothing else
    six.updated_at = six.updated_at
    db.session.flush()
    assert not db.session.info.get("registry_dirty", {}).get("cycles")
    registry_store.settle()
    assert db.session.scalar(sa.select(RegistryGeneration.value)) == generation
    six.available_from = six.available_from - timedelta(days=1)
    db.session.flush()
    registry_store.settle()
    assert db.session.scalar(sa.select(RegistryGeneration.value)) == generation + 1
    assert_stored_rows_are_current()


def test_views_missing_the_same_figures_at_once_compute_them_once(race_app, db_kind, monkeypatch):
    """After a change, views that miss the same figures at once wait for the first to compute
    and store them, then read them (PostgreSQL; SQLite serves one writer at a time anyway)."""
    if db_kind != "postgresql":
        pytest.skip("the lock that makes them wait is PostgreSQL's")
    with race_app.app_context():
        registry_store.bump_generation(db.session.connection())  # what any change does
        db.session.commit()
        db.session.remove()
    aggregates, computed = registry._aggregates, []

    def slow_aggregates(filters, today):
        computed.append(1)
        time.sleep(0.5)  # the other view misses meanwhile
        return aggregates(filters, today)

    monkeypatch.setattr(registry, "_aggregates", slow_aggregates)
    results, errors = [], []
    start = threading.Barrier(2)

    def view() -> None:
        try:
            with race_app.app_context():
                start.wait(timeout=30)
                results.append(registry.figures(Filters()))
                db.session.commit()  # the request's end: the stored figures go with it
                db.session.remove()
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=view) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(computed) == 1 and len(results) == 2 and results[0] == results[1]


def test_a_journeys_conditions_changed_move_the_generation_on(two, db):
    """Conditions are rows of a link table, not a column of the journey: changing them (the
    registry filters by condition) still makes the stored figures out of date."""
    first, _second = two
    registry_store.settle()
    generation = db.session.scalar(sa.select(RegistryGeneration.value))
    other = db.session.scalars(
        sa.select(m.Condition).where(m.Condition.id.not_in([c.id for c in first.conditions]))
    ).first()
    first.conditions = [other]
    db.session.flush()
    registry_store.settle()
    assert db.session.scalar(sa.select(RegistryGeneration.value)) == generation + 1
    assert_stored_rows_are_current()
