"""The scheduler's queries find what is due through their indexes: EXPLAIN on PostgreSQL, over
a year of appointments (a test-sized clinic, analysed) with sequential scans priced out, names
the index each query is meant to use and shows no sequential scan of the tables it reads."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from clinic.messaging import scheduler

NOW = datetime(2026, 5, 4, 16, 0, tzinfo=UTC)
TODAY = date(2026, 5, 4)
TABLES = ("appointment", "questionnaire_response", "follow_up", "patient_message")

QUERIES = {
    "new bookings": lambda: scheduler.booking_query(NOW),
    "upcoming visits": lambda: scheduler.upcoming_query(NOW, 9),
    "questionnaire sets": lambda: scheduler.questionnaire_query(TODAY, 2),
    "recalls": lambda: scheduler.recall_query(TODAY),
    "stale visit messages": scheduler.stale_visit_messages,
    "claim": lambda: (
        sa.select(scheduler.PatientMessage.id)
        .where(scheduler._due(NOW))
        .order_by(scheduler.PatientMessage.due_at)
        .limit(1)
    ),
}


# the index each query must be able to use
EXPECTED = {
    # the booking times, or (the table bloated by earlier tests' rolled-back rows, which the
    # planner prices in) the future visits' start times: both bounded ranges
    "new bookings": ("ix_appointment_created_at", "ix_appointment_starts_at"),
    "upcoming visits": ("ix_appointment_starts_at",),
    # the open-and-closing dates, or (few open answers) the open status
    "questionnaire sets": (
        "ix_questionnaire_response_opens",
        "ix_questionnaire_response_patient_status",
    ),
    "recalls": (
        "ix_follow_up_due_on",
        "ix_follow_up_scheduled_window",
        "ix_follow_up_scheduled_due",  # scheduled follow-ups in due order (5c0e7d9a2b41)
    ),
    "stale visit messages": ("ix_patient_message_due",),
    "claim": ("ix_patient_message_due",),
}


def _a_year_of_appointments(db) -> None:
    """3,000 appointments over a year, booked over the year before each, then ANALYZE."""
    from clinic.auth.models import Role
    from tests.factories import PatientFactory, make_user

    provider = make_user(Role.PROVIDER)
    patients = [PatientFactory().id for _ in range(30)]
    start = NOW - timedelta(days=180)
    rows = []
    for n in range(3000):
        starts = start + timedelta(hours=3 * n)
        rows.append(
            {"patient_id": patients[n % 30], "provider_id": provider.id, "kind": "follow_up",
             "starts_at": starts, "ends_at": starts + timedelta(minutes=30),
             "status": "booked" if starts > NOW else "completed",
             "checked_in_at": None if starts > NOW else starts,
             "created_at": starts - timedelta(days=n % 90 + 1), "updated_at": starts,
             "version": 1}
        )  # fmt: skip
    db.session.execute(
        sa.text(
            "INSERT INTO appointment (patient_id, provider_id, kind, starts_at, ends_at, status,"
            " checked_in_at, created_at, updated_at, version) VALUES (:patient_id, :provider_id,"
            " :kind, :starts_at, :ends_at, :status, :checked_in_at, :created_at, :updated_at,"
            " :version)"
        ),
        rows,
    )
    db.session.execute(sa.text("ANALYZE appointment"))


def plan_of(db, statement) -> str:
    sql = statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    with db.session.begin_nested():
        db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        rows = db.session.execute(sa.text(f"EXPLAIN {sql}")).scalars().all()
    return "\n".join(rows)


@pytest.mark.parametrize("name", sorted(QUERIES))
def test_the_scheduler_query_uses_indexes(db, db_kind, name):
    if db_kind != "postgresql":
        pytest.skip("EXPLAIN plans are checked on PostgreSQL")
    _a_year_of_appointments(db)
    plan = plan_of(db, QUERIES[name]())
    for table in TABLES:
        assert f"Seq Scan on {table}" not in plan, plan
    assert any(index in plan for index in EXPECTED[name]), plan


def test_the_bench_times_one_scheduling_pass(app, db):
    from bench.messaging_bench import time_scheduling_pass
    from tests.messaging.helpers import visit

    visit(NOW + timedelta(days=2), booked_at=NOW - timedelta(hours=1))
    took = time_scheduling_pass(app, NOW)
    assert 0 < took < 5
