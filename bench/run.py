"""Benchmark: the pages people use all day, against a large clinic's data.

    make bench                       # 100,000 patients, 20,000 treated journeys, on SQLite
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1/cjt_bench make bench
    .venv/bin/python -m bench.run --patients 20000 --journeys 4000 --repeat 10

Builds a fresh database (migrations, demo data, then bulk patients, a month of bookings and
treated journeys with their follow-ups, answered questionnaires and adverse events),
signs in as each role and times each page through the app (routing, queries, templates),
printing the median and 95th percentile in milliseconds and the SQL statements per request.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clinic import create_app  # noqa: E402
from clinic.extensions import db  # noqa: E402
from config import DevelopmentConfig  # noqa: E402

SURNAMES = [
    "Garcia",
    "Smith",
    "Nguyen",
    "Okafor",
    "Kowalski",
    "Haddad",
    "Larsen",
    "Moreau",
    "Tanaka",
    "Silva",
    "Brown",
    "Cohen",
    "Rossi",
    "Murphy",
    "Ivanova",
    "Patel",
]
GIVEN = [
    "Ana",
    "Ben",
    "Chloe",
    "Dmitri",
    "Ebony",
    "Farah",
    "Gus",
    "Hana",
    "Ivan",
    "Jun",
    "Kofi",
    "Lena",
    "Marco",
    "Nia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
]


def build(url: str, patients: int, days: int, journeys: int) -> object:
    from flask_migrate import upgrade

    from clinic.demo import load_demo_data

    config = type(
        "Bench", (DevelopmentConfig,), {"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False}
    )
    app = create_app(config)
    with app.app_context():
        upgrade()
        load_demo_data()
        db.session.commit()
        _bulk_patients(patients)
        _bulk_bookings(days)
        from bench.registry_data import bulk_registry

        bulk_registry(min(journeys, patients))
    return app


def _bulk_patients(count: int) -> None:
    from clinic.patients.models import Patient, fold_name, phone_digits

    rng = random.Random(7)
    now = datetime.now(UTC)
    batch = []
    for n in range(count):
        family, given = rng.choice(SURNAMES) + str(n % 997), rng.choice(GIVEN)
        phone = f"+1 617 {rng.randint(200, 999)} {rng.randint(1000, 9999)}"
        batch.append(
            {
                "mrn": f"BX{n:07d}",
                "given_name": given,
                "family_name": family,
                "given_key": fold_name(given),
                "family_key": fold_name(family),
                "date_of_birth": date(1940, 1, 1) + timedelta(days=rng.randint(0, 25000)),
                "sex": "female" if n % 2 else "male",
                "phone": phone,
                "phone_key": phone_digits(phone),
                "preferred_contact": "phone",
                "created_at": now,
                "updated_at": now,
                "version": 1,
            }
        )
        if len(batch) == 5000:
            db.session.execute(sa.insert(Patient.__table__), batch)
            batch = []
    if batch:
        db.session.execute(sa.insert(Patient.__table__), batch)
    db.session.commit()


def _bulk_bookings(days: int) -> None:
    """Follow-up visits every 30 minutes, 8:00–17:00, for every provider, around today."""
    from zoneinfo import ZoneInfo

    from clinic.auth.models import Role, User
    from clinic.scheduling.models import Appointment
    from clinic.timeutil import clinic_tz

    tz: ZoneInfo = clinic_tz()
    now = datetime.now(UTC)
    for n in range(4):  # clinicians of their own, so the demo's bookings never clash
        db.session.add(
            User(
                email=f"bench{n}@bench.example.com",
                full_name=f"Dr Bench {n}",
                role=Role.PROVIDER,
                password_hash="!",
                active=True,
                session_version=1,
            )
        )
    db.session.flush()
    providers = db.session.scalars(
        sa.select(User.id).where(User.email.like("bench%@bench.example.com"))
    ).all()
    patient_ids = db.session.scalars(
        sa.select(sa.text("id"))
        .select_from(sa.text("patient"))
        .where(sa.text("mrn LIKE 'BX%'"))
        .limit(days * 40 * 4)
    ).all()
    pid = iter(patient_ids)
    rows = []
    start_day = date.today() - timedelta(days=days // 2)
    for offset in range(days):
        day = start_day + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for provider in providers:
            for slot in range(18):
                starts = datetime(day.year, day.month, day.day, 8, 0, tzinfo=tz) + timedelta(
                    minutes=30 * slot, days=0
                )
                if slot % 6 == 5:
                    continue  # leave gaps, as a real day has
                rows.append(
                    {
                        "patient_id": next(pid),
                        "provider_id": provider,
                        "room_id": None,
                        "kind": "follow_up",
                        "starts_at": starts.astimezone(UTC),
                        "ends_at": (starts + timedelta(minutes=30)).astimezone(UTC),
                        "status": "booked",
                        "created_at": now,
                        "updated_at": now,
                        "version": 1,
                    }
                )
    # ORM insert so the UTC type adapts values the same way the app does
    db.session.execute(sa.insert(Appointment), rows)
    db.session.commit()


def measure(app, pages: list[tuple[str, str]], repeat: int) -> list[tuple]:

    results = []
    for role, path in pages:
        client = _signed_in(app, role)
        statements = _count_statements(app, client, path)
        timings = []
        for _ in range(repeat):
            began = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        timings.sort()
        p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
        results.append((role, path, statistics.median(timings), p95, statements))
    return results


def _signed_in(app, role: str):
    """A test client signed in as the demo account of `role` (with its code when it has one)."""
    import re

    import pyotp

    from clinic.demo import DEMO_LOGINS, DEMO_TOTP_SECRETS

    login = {login.role.value: login for login in reversed(DEMO_LOGINS)}[role]
    client = app.test_client()
    token_pattern = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')

    def token(path: str) -> str:
        return token_pattern.search(client.get(path).get_data(as_text=True)).group(1)

    response = client.post(
        "/login",
        data={"email": login.email, "password": login.password, "csrf_token": token("/login")},
    )
    if response.headers.get("Location", "").startswith("/login/code"):
        code = pyotp.TOTP(DEMO_TOTP_SECRETS[login.email]).now()
        client.post("/login/code", data={"code": code, "csrf_token": token("/login/code")})
    return client


def _count_statements(app, client, path: str) -> int:
    count = 0

    def bump(*_args) -> None:
        nonlocal count
        count += 1

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", bump)
    try:
        client.get(path)
    finally:
        sa.event.remove(engine, "before_cursor_execute", bump)
    return count


PAGES = [
    ("front_desk", "/patients/?q=okafor1"),
    ("front_desk", "/patients/?q=BX0050000"),
    ("front_desk", "/patients/?q=1971-06-02"),
    ("front_desk", "/patients/?q=617555"),
    ("front_desk", "/schedule/board"),
    ("front_desk", "/schedule/day"),
    ("front_desk", "/schedule/week"),
    ("front_desk", "/schedule/recalls"),
    ("provider", "/clinical"),
    ("patient", "/my"),
    ("patient", "/my/progress"),
    ("patient", "/my/journey"),
    ("patient", "/my/questionnaires"),
    ("admin", "/admin/audit"),
    ("provider", "/registry"),
    ("provider", "/registry?therapy=prp&region=lumbar&instrument=nrs_pain"),
    ("admin", "/registry/operations"),
]
EXPORTS = [
    ("provider", "/registry/export.csv"),
    ("provider", "/registry/export.csv?variant=deidentified&therapy=prp"),
]


def measure_exports(app, exports: list[tuple[str, str]]) -> list[tuple]:
    """Time to the first CSV row (header excluded) and to the whole file, with its row count."""
    results = []
    for role, path in exports:
        client = _signed_in(app, role)
        began = time.perf_counter()
        response = client.get(path)
        chunks = iter(response.response)
        header = next(chunks)
        first = next(chunks, b"")
        first_ms = (time.perf_counter() - began) * 1000
        lines = header.count(b"\n") + first.count(b"\n") + sum(c.count(b"\n") for c in chunks)
        response.close()
        results.append((role, path, first_ms, (time.perf_counter() - began) * 1000, lines - 1))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--journeys", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        from tests.databases import wipe_postgres

        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
        wipe_postgres(url)
    else:
        path = ROOT / "instance" / "bench.db"
        path.parent.mkdir(exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    began = time.perf_counter()
    app = build(url, args.patients, args.days, args.journeys)
    print(
        f"built {args.patients:,} patients, {args.journeys:,} treated journeys and {args.days} "
        "days of bookings on "
        f"{url.split(':')[0]} in {time.perf_counter() - began:.1f}s"
    )
    print(f"{'role':<11} {'page':<26} {'median ms':>10} {'p95 ms':>8} {'SQL':>5}")
    for role, path, median, p95, statements in measure(app, PAGES, args.repeat):
        print(f"{role:<11} {path:<26} {median:>10.1f} {p95:>8.1f} {statements:>5}")
    print(f"{'role':<11} {'export':<26} {'first row ms':>12} {'whole ms':>9} {'rows':>7}")
    for role, path, first_ms, whole_ms, count in measure_exports(app, EXPORTS):
        print(f"{role:<11} {path:<26} {first_ms:>12.1f} {whole_ms:>9.1f} {count:>7}")


if __name__ == "__main__":
    main()
