"""Benchmark: one pass of the patient-message scheduler against a large clinic.

    .venv/bin/python -m bench.messaging_bench                    # 100,000 patients, a year
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/cjt_bench \
        .venv/bin/python -m bench.messaging_bench
    .venv/bin/python -m bench.messaging_bench --patients 20000 --per-day 60

`time_scheduling_pass(app)` times one planning pass (what `flask worker` runs every minute)
on whatever database the app uses, inside a transaction that is rolled back, so it can be
repeated and leaves the data as it found it; `bench/run.py` may call it on its own clinic.
Run as a module it builds its own clinic first: bulk patients (e-mail preferred), a year of
appointments (half before today, half after, booked up to 60 days ahead), questionnaire sets
and follow-ups, then prints the median and worst of several passes (the issue asks for under
a second at 100,000 patients and a year of appointments). Measured on PostgreSQL 2026-11-27 on
a shared 2-core machine: 100,000 patients, 54,750 appointments: first pass 1.7 s, each pass
after it 166 ms median (406 ms worst).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clinic import create_app  # noqa: E402
from clinic.extensions import db  # noqa: E402
from clinic.messaging import scheduler  # noqa: E402
from config import DevelopmentConfig  # noqa: E402

PROVIDERS = 10


def _pass(app: Flask, now: datetime | None, keep: bool) -> float:
    with app.app_context():
        session = Session(bind=db.engine)
        try:
            started = time.perf_counter()
            scheduler.plan(session, now)
            session.flush()
            took = time.perf_counter() - started
            if keep:
                session.commit()
            return took
        finally:
            session.rollback()
            session.close()


def first_pass(app: Flask, now: datetime | None = None) -> float:
    """Seconds of the very first pass, which plans everything already due (kept)."""
    return _pass(app, now, keep=True)


def time_scheduling_pass(app: Flask, now: datetime | None = None) -> float:
    """Seconds one scheduling pass takes, as `flask worker` runs it every minute: the messages
    planned so far are in the database (a first pass is run and kept if none is), and what this
    pass plans is rolled back, so it can be repeated."""
    from clinic.messaging.models import PatientMessage

    with app.app_context():
        planned_before = db.session.scalar(sa.select(sa.func.count()).select_from(PatientMessage))
        db.session.remove()
    if not planned_before:
        first_pass(app, now)
    return _pass(app, now, keep=False)


def _bulk_clinic(patients: int, per_day: int, rng: random.Random) -> None:
    from clinic.auth.models import Role
    from clinic.patients.models import Patient

    now = datetime.now(UTC)
    db.session.execute(
        sa.insert(Patient.__table__),
        [
            {
                "mrn": f"MB{n:07d}",
                "given_name": f"Given{n}",
                "family_name": f"Family{n}",
                "given_key": f"given{n}",
                "family_key": f"family{n}",
                "date_of_birth": date(1950, 1, 1) + timedelta(days=n % 20000),
                "sex": "female" if n % 2 else "male",
                "email": f"patient{n}@mail.example.com",
                "phone": None,
                "phone_key": None,
                "preferred_contact": "email",
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
            for n in range(patients)
        ],
    )
    first_id = db.session.scalar(sa.select(sa.func.min(Patient.id)).where(Patient.mrn >= "MB"))
    from clinic.auth.models import User
    from clinic.auth.passwords import hash_password

    password = hash_password("bench-only-password-not-for-use")
    providers = []
    for n in range(PROVIDERS):
        user = User(
            email=f"bench-provider-{n}@clinic.example.com",
            full_name=f"Dr Bench {n}",
            role=Role.PROVIDER,
            password_hash=password,
            active=True,
            session_version=1,
        )
        db.session.add(user)
        db.session.flush()
        providers.append(user.id)
    rows = []
    start = (now - timedelta(days=182)).replace(hour=14, minute=0, second=0, microsecond=0)
    for day in range(365):
        for slot in range(per_day):
            starts = start + timedelta(days=day, minutes=(slot // PROVIDERS) * 30)
            past = starts < now
            rows.append(
                {
                    "patient_id": first_id + rng.randrange(patients),
                    "provider_id": providers[slot % len(providers)],
                    "kind": "procedure" if slot % 5 == 0 else "follow_up",
                    "starts_at": starts,
                    "ends_at": starts + timedelta(minutes=30),
                    "status": "completed" if past else "booked",
                    "checked_in_at": starts if past else None,
                    # booked up to four months ahead, and never in the future
                    "created_at": min(
                        starts - timedelta(days=rng.randint(1, 120)),
                        now - timedelta(minutes=rng.randint(10, 60 * 24 * 120)),
                    ),
                    "updated_at": starts,
                    "version": 1,
                }
            )
        if len(rows) >= 20000:
            _insert_appointments(rows)
            rows = []
    _insert_appointments(rows)
    db.session.commit()


def _insert_appointments(rows: list[dict]) -> None:
    from clinic.scheduling.models import Appointment

    if rows:
        # a patient drawn twice for one time slot takes the next patient instead
        first = min(row["patient_id"] for row in rows)
        span = max(row["patient_id"] for row in rows) - first + 1
        seen: set[tuple[int, datetime]] = set()
        for row in rows:
            while (row["patient_id"], row["starts_at"]) in seen:
                row["patient_id"] = first + (row["patient_id"] - first + 1) % span
            seen.add((row["patient_id"], row["starts_at"]))
        db.session.execute(sa.insert(Appointment.__table__), rows)


def build(url: str, patients: int, per_day: int) -> Flask:
    from flask_migrate import upgrade

    config = type(
        "MessagingBench",
        (DevelopmentConfig,),
        {"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False},
    )
    app = create_app(config)
    with app.app_context():
        upgrade()
        _bulk_clinic(patients, per_day, random.Random(11))
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--per-day", type=int, default=150, help="appointments a day")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        url = "sqlite:///" + os.path.join(tempfile.mkdtemp(prefix="cjt-msg-bench-"), "bench.db")
    app = build(url, args.patients, args.per_day)
    first = first_pass(app)
    times = [time_scheduling_pass(app) for _ in range(args.repeat)]
    print(
        f"{args.patients:,} patients, {365 * args.per_day:,} appointments over a year "
        f"({url.split(':')[0]}): first pass (plans everything due) {first * 1000:.0f} ms; "
        f"each pass after it: median {statistics.median(times) * 1000:.0f} ms, "
        f"worst {max(times) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
