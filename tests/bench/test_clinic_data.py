"""The benchmark's clinic: `flask demo generate` fills every table the all-day pages read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from clinic.auth.models import User
from clinic.scheduling.models import Appointment


def _count(db, sql: str) -> int:
    return int(db.session.scalar(sa.text(sql)))


def test_generate_builds_a_clinic_with_its_history(app, db):
    result = app.test_cli_runner().invoke(args=["demo", "generate", "--patients", "100"])
    assert result.exit_code == 0, result.output
    assert _count(db, "SELECT count(*) FROM patient WHERE mrn LIKE 'BX%'") == 100
    assert _count(db, "SELECT count(*) FROM user_account WHERE email LIKE 'patient-%'") == 5
    states = set(
        db.session.scalars(
            sa.text(
                "SELECT DISTINCT j.status FROM journey j JOIN patient p ON p.id = j.patient_id "
                "WHERE p.mrn LIKE 'BX%'"
            )
        )
    )
    assert states == {
        "follow_up", "completed", "evaluating", "in_treatment", "not_candidate", "cancelled"
    }  # fmt: skip
    without_record = (
        "SELECT count(*) FROM stage s WHERE s.kind = 'evaluation' AND NOT EXISTS "
        "(SELECT 1 FROM evaluation_record r WHERE r.stage_id = s.id)"
    )
    assert _count(db, without_record) == 0
    specimens = _count(db, "SELECT count(*) FROM specimen WHERE code LIKE 'SB%'")
    assert specimens == 15  # one per treated journey (3/4 of 100/5)
    assert _count(db, "SELECT count(*) FROM custody_event") >= 6 * specimens
    assert _count(db, "SELECT count(*) FROM follow_up WHERE status = 'done'") > 0
    assert _count(db, "SELECT count(*) FROM questionnaire_response WHERE score IS NOT NULL") > 0
    now = datetime.now(UTC)
    booked = sa.select(sa.func.count(Appointment.id)).join(User, User.id == Appointment.provider_id)
    booked = booked.where(User.email.like("bench%"))
    past = db.session.scalar(booked.where(Appointment.starts_at < now - timedelta(days=300)))
    future = db.session.scalar(booked.where(Appointment.starts_at > now + timedelta(days=60)))
    assert past > 0 and future > 0
    assert _count(db, "SELECT count(*) FROM audit_event WHERE remote_addr = '10.0.0.7'") == 18 * 100
    assert _count(db, "SELECT count(*) FROM audit_event_patient") > 0
