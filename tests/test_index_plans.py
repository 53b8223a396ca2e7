"""The indexes added for the all-day pages (migration f3b81c2d6e90) serve their queries on
PostgreSQL: each page's statements are captured and EXPLAINed with sequential scans
discouraged, as the planner would at 100,000 patients (small tables make it prefer a scan)."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from clinic.auth.models import Role
from clinic.journeys.services.queries import worklist_for, worklist_rows
from clinic.models import audit
from clinic.outcomes import export, registry
from clinic.outcomes.models import QuestionnaireResponse
from clinic.outcomes.registry import Filters
from clinic.portal.home import upcoming_visits
from clinic.scheduling.recalls import count_due


def _plans(db, run, discourage_seqscan: bool = True, having: str = "") -> str:
    """EXPLAIN of every statement `run` executes (those whose text has `having`), as one
    text."""
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        pytest.skip("query plans are checked on PostgreSQL")
    seen: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")) and having in statement:
            seen.append((statement, parameters))

    engine = db.session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    seqscan = "off" if discourage_seqscan else "on"
    connection.exec_driver_sql(f"SET LOCAL enable_seqscan = {seqscan}")
    plans = []
    for statement, parameters in seen:
        rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).all()
        plans.append("\n".join(row[0] for row in rows))
    return "\n\n".join(plans)


def test_due_follow_ups_are_counted_from_the_scheduled_index(db):
    """From a partial index of scheduled follow-ups: at 100,000 patients the planner takes a
    range of ix_follow_up_scheduled_window index-only (it carries the id since 5c0e7d9a2b41);
    on these near-empty tables either partial index (and any scan of it) costs it the same, so
    which one, and how, depends on the statistics of the run (CI chose differently)."""
    plan = _plans(db, lambda: count_due(date(2030, 1, 7)))
    assert "ix_follow_up_scheduled_" in plan
    assert "Seq Scan on follow_up" not in plan and "Seq Scan on journey" not in plan


def test_the_due_counts_stamp_is_three_index_probes(db):
    from clinic.scheduling.recalls import _last_written

    plan = _plans(db, _last_written)
    for table in ("follow_up", "appointment", "journey"):
        assert f"ix_{table}_updated_at" in plan


def test_the_worklist_reads_open_stages_from_their_partial_index(db, make_user):
    """Open stages come from an index, never a scan of every stage. At 100,000 patients the
    planner takes ix_stage_open / ix_stage_started_at; on near-empty tables it may as well
    reach the stages of the few open journeys through ix_stage_journey_id (it does on some
    runs, as the statistics fall), which reads no more."""
    provider = make_user(Role.PROVIDER)
    plan = _plans(db, lambda: worklist_for(provider))
    assert re.search(r"ix_stage_(open|started_at|journey_id)", plan), plan
    assert "Seq Scan on stage" not in plan, plan


def test_the_registry_export_looks_answers_up_by_follow_up_and_cycle(db):
    r = QuestionnaireResponse
    answers = sa.select(r.score).where(r.follow_up_id.in_([1, 2, 3]), r.instrument_code == "odi")
    plan = _plans(db, lambda: db.session.execute(answers).all())
    assert "ix_questionnaire_response_follow_up_code" in plan
    chunk = export.registry_query(Filters(), [1, 2, 3])
    plan = _plans(db, lambda: db.session.execute(chunk).all())
    assert "ix_questionnaire_response_cycle_timepoint" in plan


def test_the_audit_action_prefix_is_an_index_range(client, login, db):
    login(Role.ADMIN)
    plan = _plans(db, lambda: client.get("/admin/audit?action=patient.v"))
    assert "ix_audit_event_action_time" in plan


def test_an_action_filters_page_ids_come_from_the_action_time_index(client, login, db):
    """The page's ids per action are read in time order from (action, occurred_at, id), not by
    walking the time index past other actions' events; only those rows are then read."""
    login(Role.ADMIN)
    for action in ("patient.viewed", "patient.viewed", "front_desk.viewed"):
        audit.record(action)
    plan = _plans(db, lambda: client.get("/admin/audit?action=patient.v"), having="= ANY (array(")
    assert "ix_audit_event_action_time" in plan, plan
    assert "ix_audit_event_occurred_at" not in plan, plan


def test_up_next_probes_each_candidates_cycle_instead_of_hashing_every_done_stage(db, make_user):
    """A pending stage is ready when its predecessor in the cycle is done: a probe of that
    cycle's few stages through the cycle index, never a hash of every completed or signed
    stage (63,000 at 100,000 patients) built for each view. With sequential scans allowed the
    planner would hash them whenever that looks cheaper (it does on small tables); the
    subquery's form rules the hash out, so none may appear."""
    provider = make_user(Role.PROVIDER)
    ready = lambda: worklist_rows(provider, sections=("ready",))  # noqa: E731
    # an index scan or a bitmap of it, as the table's statistics make the planner prefer
    assert re.search(
        r"(?:Index Scan using|Bitmap Index Scan on) ix_stage_cycle_id", _plans(db, ready)
    )
    plan = _plans(db, ready, discourage_seqscan=False)
    for name in re.findall(r"hashed (SubPlan \d+)", plan):  # the care team's may be hashed
        body = plan[plan.index(f"{name}\n") :].split("\n")[1]
        assert " on stage " not in body, plan


def test_the_care_teams_visits_today_come_from_the_overlap_index(db, make_user):
    """A clinician's patients seen today are a range overlap in the GiST index of the
    live-overlap exclusion (provider, visit range): the (provider, starts_at) index read every
    earlier visit of the provider (3,930 for a bench clinician, 259 pages, for 12 today). On
    these near-empty tables the planner may take the patient's overlap index instead (at
    100,000 patients it takes the provider's)."""
    provider = make_user(Role.PROVIDER)
    plan = _plans(db, lambda: worklist_rows(provider, sections=("in_progress",)))
    assert re.search(r"ex_appointment_\w+_overlap on appointment", plan), plan
    assert "ix_appointment_provider_time" not in plan, plan


def test_the_portal_home_reads_a_patients_next_visits_in_time_order(db, make_user):
    """The patient's next visits come from an index on the patient: at 100,000 patients the
    planner takes (patient_id, starts_at) in order (3 pages for one visit; the patient's overlap
    GiST it took before read 31). On these near-empty tables it may take either index (CI's
    statistics differ from a developer's), never a scan of every appointment."""
    patient = make_user(Role.PATIENT).patient
    plan = _plans(db, lambda: upcoming_visits(patient))
    assert re.search(r"(ix_appointment_patient_time|ex_appointment_patient_id_overlap)", plan)
    assert "Seq Scan on appointment" not in plan, plan


def test_the_registry_dashboard_reads_its_stored_rows_through_their_indexes(db):
    """Answers by instrument, timepoint and kind; patients per timepoint (migration a17e9b073ac0):
    each read walks an index on the chosen instrument, never a scan of every stored answer.
    (Which of the two indexes the planner picks for the answers depends on the data: at
    100,000 patients it is ix_registry_point_kinds, index-only; README, speed section.)"""
    plan = _plans(db, lambda: registry.figures(Filters(instrument="odi")))
    assert "Seq Scan on registry_point" not in plan
    assert len(re.findall(r"(?:Scan using|Index Scan on) ix_registry_point_\w+", plan)) >= 2


def test_the_recall_list_walks_scheduled_follow_ups_in_due_order(db):
    """The recall list's page reads scheduled follow-ups in due order from their partial index
    and checks each one's journey is open in the open-journey index, never the journey rows
    (at 100,000 patients: 30 ms walking every follow-up by due date before, 2.5 ms after)."""
    from datetime import UTC, datetime

    from clinic.scheduling.recalls import recall_page

    plan = _plans(db, lambda: recall_page(date(2030, 1, 7), now=datetime(2030, 1, 7, tzinfo=UTC)))
    # on near-empty tables either scheduled partial index may be chosen (CI took the window one)
    assert "ix_follow_up_scheduled_" in plan
    assert "Seq Scan on journey" not in plan and "Seq Scan on follow_up" not in plan


def test_a_registry_view_reads_its_stored_figures_by_primary_key(db):
    """Stored figures (migration 89743aaa753d) are read beside the generation's one row by the
    filters' key: a probe of pk_registry_figures, whatever the number of filter sets stored."""
    registry.figures(Filters())  # computes and stores; the next view reads what it stored
    plan = _plans(db, lambda: registry.figures(Filters()))
    assert "pk_registry_figures" in plan and "pk_registry_generation" in plan
    assert "registry_point" not in plan


def test_the_registry_provider_filter_reads_providers_by_role_and_name(client, login, db):
    """One role's accounts in name order (migration 0d1e6015612b): an index range, never a scan
    of every account (one patient in twenty has a portal account)."""
    login(Role.PROVIDER)
    plan = _plans(db, lambda: client.get("/registry"))
    assert "ix_user_account_role_name" in plan
