"""PostgreSQL operations on a private cluster started by the test: a backup taken with
`flask backup` under concurrent writes restores into a fresh database with every committed
row, the audit triggers and the exclusion constraints, also by the README's recipe as the
owner role; the two documented roles hold (the app cannot TRUNCATE or ALTER the audit table);
concurrent `flask db upgrade` runs wait for one another on the advisory lock."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa

from clinic.demo import load_demo_data
from clinic.extensions import db
from clinic.jobs.worker import Worker
from clinic.models import audit
from tests.conftest import make_test_app
from tests.ops.servers import PrivatePostgres
from tests.ops.settings import limiter_kept

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "postgres"


@pytest.fixture(scope="module")
def cluster():
    server = PrivatePostgres().start()
    try:
        yield server
    finally:
        server.remove()


def _url(cluster: PrivatePostgres, database: str, user: str = "postgres") -> str:
    return f"postgresql+psycopg://{user}@127.0.0.1:{cluster.port}/{database}"


def _create_database(cluster: PrivatePostgres, name: str) -> str:
    admin = sa.create_engine(_url(cluster, "postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return _url(cluster, name)


def _tool(cluster: PrivatePostgres, name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(cluster.bin / name), "-h", "127.0.0.1", "-p", str(cluster.port), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def _app(url: str, **settings):
    with limiter_kept():
        return make_test_app(url, **settings)


def test_backup_under_writes_restores_everything_into_a_fresh_database(cluster, tmp_path):
    app = _app(_create_database(cluster, "source"))
    committed: list[tuple[int, float]] = []
    stop = threading.Event()

    def write_audit_rows() -> None:
        with app.app_context():
            while not stop.is_set():
                row_id = audit.record("backup.concurrent_write", detail="a write during the dump")
                db.session.commit()
                committed.append((row_id, time.monotonic()))
            db.session.remove()

    with app.app_context():
        flask_migrate.upgrade()
        load_demo_data()
        db.session.commit()
        Worker(app, name="worker-of-the-source").beat()  # alive on the source, a moment ago
        tables = ["user_account", "patient", "appointment", "stage", "journey", "audit_event"]
        writer = threading.Thread(target=write_audit_rows)
        writer.start()
        try:
            while len(committed) < 20:
                time.sleep(0.01)
            started = time.monotonic()
            target = tmp_path / "clinic.dump"
            result = app.test_cli_runner().invoke(args=["backup", str(target)])
            finished = time.monotonic()
            while not committed or committed[-1][1] < finished + 0.2:
                time.sleep(0.01)
        finally:
            stop.set()
            writer.join()
        assert result.exit_code == 0, result.output
        assert oct(target.stat().st_mode & 0o777) == "0o600"
        counts = {t: db.session.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in tables}  # noqa: S608
        db.session.remove()
        db.engine.dispose()

    fresh = _create_database(cluster, "restored")
    restore = _tool(
        cluster, "pg_restore", "-U", "postgres", "--no-owner", "--exit-on-error",
        "-d", "restored", str(target),
    )  # fmt: skip
    assert restore.returncode == 0, restore.stderr

    engine = sa.create_engine(fresh)
    with engine.connect() as conn:
        restored_ids = set(
            conn.scalars(
                sa.text("SELECT id FROM audit_event WHERE action = 'backup.concurrent_write'")
            )
        )
        before_dump = {row_id for row_id, at in committed if at < started}
        all_committed = {row_id for row_id, _ in committed}
        during_or_after = all_committed - before_dump
        assert before_dump <= restored_ids  # every row committed before the dump began
        assert restored_ids <= all_committed  # and nothing that was never committed
        assert during_or_after - restored_ids  # writes after the snapshot are (rightly) absent
        for table in tables[:-1]:
            assert conn.scalar(sa.text(f"SELECT count(*) FROM {table}")) == counts[table]  # noqa: S608
        triggers = set(
            conn.scalars(
                sa.text(
                    "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_event'::regclass "
                    "AND NOT tgisinternal"
                )
            )
        )
        assert "audit_event_append_only" in triggers
        exclusions = set(
            conn.scalars(sa.text("SELECT conname FROM pg_constraint WHERE contype = 'x'"))
        )
        assert len(exclusions) >= 3, exclusions
        conn.rollback()
        with pytest.raises(sa.exc.DBAPIError, match=r"append-only|audit"), conn.begin():
            conn.execute(sa.text("UPDATE audit_event SET action = 'x'"))
    engine.dispose()
    print(
        f"\nrestore figures: {len(before_dump)} rows committed before the dump all restored, "
        f"{len(restored_ids & during_or_after)} of {len(during_or_after)} written during or "
        f"after it in the snapshot; {counts} ; exclusion constraints {sorted(exclusions)}"
    )
    restored_app = _app(fresh, JOBS_MODE="worker")
    with restored_app.app_context():
        ready = restored_app.test_client().get("/readyz").json
        # the source's worker heartbeat is not in the dump: no worker has served this copy
        assert ready["database"] == "ok" and ready["worker"] == "no heartbeat yet"
        db.engine.dispose()


@pytest.fixture(scope="module")
def clinic_roles(cluster):
    """The documented set-up: roles.sql, migrations as clinic_owner, after-migrate.sql."""
    psql = _tool(cluster, "psql", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-d", "postgres",
                 "-f", str(DEPLOY / "roles.sql"))  # fmt: skip
    assert psql.returncode == 0, psql.stderr
    owner_app = _app(_url(cluster, "clinic", "clinic_owner"))
    with owner_app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    again = _tool(cluster, "psql", "-U", "clinic_owner", "-v", "ON_ERROR_STOP=1", "-d", "clinic",
                  "-f", str(DEPLOY / "after-migrate.sql"))  # fmt: skip
    assert again.returncode == 0, again.stderr
    return cluster


def _refused_to_the_app_role(statements) -> None:
    for statement in statements:
        refused = pytest.raises(sa.exc.DBAPIError, match=r"permission denied|must be owner")
        with db.engine.connect() as conn, refused:
            conn.execute(sa.text(statement))


def test_the_app_role_cannot_truncate_or_alter_the_audit_table(clinic_roles):
    cluster = clinic_roles
    app = _app(_url(cluster, "clinic", "clinic_app"))
    with app.app_context():
        load_demo_data()  # the app role does everything the app does
        audit.record("roles.checked")
        db.session.commit()
        assert app.test_client().get("/readyz").json["database"] == "ok"
        db.session.remove()
        _refused_to_the_app_role(
            (
                "TRUNCATE audit_event",
                "ALTER TABLE audit_event DISABLE TRIGGER ALL",
                "DROP TRIGGER audit_event_append_only ON audit_event",
                "UPDATE audit_event SET action = 'x'",
                "DELETE FROM audit_event",
                "TRUNCATE audit_event_patient",
                "UPDATE audit_event_patient SET patient_id = patient_id",
                "DELETE FROM audit_event_patient",
                "ALTER TABLE patient ADD COLUMN x int",
            )
        )
        db.engine.dispose()


def test_the_documented_restore_as_the_owner_role(clinic_roles, tmp_path):
    """README, "Restore into a fresh database": a dump taken by the app role is restored
    as clinic_owner into a new database set up like roles.sql; the app role then works in it
    and still cannot change the audit trail. (btree_gist belongs to the superuser who
    created it: restoring its comment as clinic_owner failed the whole restore.)"""
    from clinic.backup import backup

    cluster = clinic_roles
    app = _app(_url(cluster, "clinic", "clinic_app"))
    with app.app_context():
        if not db.session.execute(sa.text("SELECT count(*) FROM user_account")).scalar():
            load_demo_data()
        audit.record("restore.checked")
        db.session.commit()
        events = db.session.execute(sa.text("SELECT count(*) FROM audit_event")).scalar()
        db.session.remove()
        dump = backup(db.engine, tmp_path / "clinic.dump")
        db.engine.dispose()

    created = _tool(cluster, "createdb", "-U", "postgres", "-O", "clinic_owner", "restored_owner")
    assert created.returncode == 0, created.stderr
    roles_sql = (DEPLOY / "roles.sql").read_text()
    setup = roles_sql[roles_sql.index("\\connect") :].replace(
        "\\connect clinic", "\\connect restored_owner"
    )
    psql = subprocess.run(
        [str(cluster.bin / "psql"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres",
         "-v", "ON_ERROR_STOP=1", "-d", "postgres"],
        input=setup, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert psql.returncode == 0, psql.stderr
    restore = _tool(cluster, "pg_restore", "-U", "postgres", "--no-owner", "--no-privileges",
                    "--no-comments", "--exit-on-error", "--role=clinic_owner",
                    "-d", "restored_owner", str(dump))  # fmt: skip
    assert restore.returncode == 0, restore.stderr
    after = _tool(cluster, "psql", "-U", "postgres", "-v", "ON_ERROR_STOP=1",
                  "-d", "restored_owner", "-f", str(DEPLOY / "after-migrate.sql"))  # fmt: skip
    assert after.returncode == 0, after.stderr

    restored = _app(_url(cluster, "restored_owner", "clinic_app"))
    with restored.app_context():
        assert restored.test_client().get("/readyz").json["database"] == "ok"
        count = sa.text("SELECT count(*) FROM audit_event")
        assert db.session.execute(count).scalar() == events
        audit.record("restore.used")  # the app role writes in the restored database
        db.session.commit()
        db.session.remove()
        _refused_to_the_app_role(
            ("UPDATE audit_event SET action = 'x'", "TRUNCATE audit_event", "DROP TABLE patient")
        )
        db.engine.dispose()


def _upgrade_process(url: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "db", "upgrade"],
        cwd=ROOT,
        env={**os.environ, "FLASK_APP": "wsgi.py", "DATABASE_URL": url, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_concurrent_upgrades_wait_for_each_other(cluster):
    url = _create_database(cluster, "racing")
    holder = sa.create_engine(url)
    with holder.connect() as conn:
        conn.execute(sa.text("SELECT pg_advisory_lock(727364919)"))
        runs = [_upgrade_process(url) for _ in range(2)]
        time.sleep(3)
        assert [run.poll() for run in runs] == [None, None]  # both wait for the lock
        conn.execute(sa.text("SELECT pg_advisory_unlock(727364919)"))
        conn.commit()
    holder.dispose()
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    # one applied every revision, the other found the schema at the head
    assert sorted(output.count("Running upgrade") for output in outputs)[0] == 0, outputs
    assert sorted(output.count("Running upgrade") for output in outputs)[1] > 5, outputs


def test_an_upgrade_gives_up_after_the_lock_timeout(cluster):
    url = _create_database(cluster, "stuck")
    holder = sa.create_engine(url)
    with holder.connect() as conn:
        conn.execute(sa.text("SELECT pg_advisory_lock(727364919)"))
        run = _upgrade_process(url, MIGRATION_LOCK_TIMEOUT="1s")
        output = run.communicate(timeout=60)[0]
        conn.rollback()
    holder.dispose()
    assert run.returncode != 0
    assert "Another migration has held the schema lock" in output
