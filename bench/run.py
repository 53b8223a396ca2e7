"""Benchmark entry point: `make bench` runs bench/load.py (over HTTP, gunicorn and wrk, on a
small and a large clinic); `--quick` keeps the in-process timing:

    .venv/bin/python -m bench.run --quick --patients 20000 --journeys 4000 --repeat 10
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1/cjt_bench python -m bench.run --quick

Quick mode builds a fresh database (SQLite unless BENCH_DATABASE_URL; migrations, the demo,
then bench/clinic_data.py's clinic), signs in as each role and times each page through the app
(routing, queries, templates): median and 95th percentile in ms, SQL statements per request.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from clinic import create_app  # noqa: E402
from clinic.extensions import db  # noqa: E402
from config import DevelopmentConfig  # noqa: E402


def build(url: str, patients: int, journeys: int) -> object:
    from flask_migrate import upgrade

    from bench.clinic_data import generate
    from clinic.demo import load_demo_data

    config = type(
        "Bench", (DevelopmentConfig,), {"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False}
    )
    app = create_app(config)
    with app.app_context():
        upgrade()
        load_demo_data()
        db.session.commit()
        generate(patients, journeys)
    return app


def measure(app, pages: list[tuple[str, str]], repeat: int, clients: dict) -> list[tuple]:

    results = []
    for role, path in pages:
        client = clients.get(role) or clients.setdefault(role, _signed_in(app, role))
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


def measure_exports(app, exports: list[tuple[str, str]], clients: dict) -> list[tuple]:
    """Time to the first CSV row (header excluded) and to the whole file, with its row count."""
    results = []
    for role, path in exports:
        client = clients.get(role) or clients.setdefault(role, _signed_in(app, role))
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
    if "--quick" not in sys.argv[1:]:
        from bench.load import main as over_http

        over_http(sys.argv[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--patients", type=int, default=100_000)
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
    app = build(url, args.patients, args.journeys)
    clients: dict = {}  # one sign-in per role: a second factor's code is good once
    print(
        f"built {args.patients:,} patients and {args.journeys:,} journeys on "
        f"{url.split(':')[0]} in {time.perf_counter() - began:.1f}s"
    )
    print(f"{'role':<11} {'page':<26} {'median ms':>10} {'p95 ms':>8} {'SQL':>5}")
    for role, path, median, p95, statements in measure(app, PAGES, args.repeat, clients):
        print(f"{role:<11} {path:<26} {median:>10.1f} {p95:>8.1f} {statements:>5}")
    print(f"{'role':<11} {'export':<26} {'first row ms':>12} {'whole ms':>9} {'rows':>7}")
    for role, path, first_ms, whole_ms, count in measure_exports(app, EXPORTS, clients):
        print(f"{role:<11} {path:<26} {first_ms:>12.1f} {whole_ms:>9.1f} {count:>7}")


if __name__ == "__main__":
    main()
