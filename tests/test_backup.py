"""A SQLite backup taken while the app runs holds every committed row; backups are readable
by their owner alone, also while being written."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa

from clinic.demo import load_demo_data
from clinic.extensions import db
from clinic.jobs.worker import Worker
from tests.conftest import make_test_app
from tests.databases import sqlite_url


def test_backup_restores_every_committed_row(tmp_path):
    app = make_test_app(sqlite_url("backup"))
    with app.app_context():
        flask_migrate.upgrade()
        load_demo_data()
        db.session.commit()
        Worker(app, name="worker-of-the-source").beat()  # alive on the source, a moment ago
        counts = {
            table: db.session.scalar(sa.select(sa.func.count()).select_from(sa.table(table)))
            for table in ("user_account", "patient", "audit_event")
        }
        target = tmp_path / "copy.db"
        umask = os.umask(0o022)  # the usual one: new files readable by everyone
        try:
            result = app.test_cli_runner().invoke(args=["backup", str(target)])
        finally:
            os.umask(umask)
        assert result.exit_code == 0, result.output
        assert stat.S_IMODE(target.stat().st_mode) == 0o600  # every patient's record
        again = app.test_cli_runner().invoke(args=["backup", str(target)])
        assert again.exit_code != 0 and "exists" in again.output
        db.engine.dispose()
    restored = sqlite3.connect(target)
    for table, count in counts.items():
        assert count > 0
        assert restored.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == count  # noqa: S608
    # no worker has served the copy: it must not report the source's as alive (/readyz)
    assert restored.execute("SELECT count(*) FROM worker_heartbeat").fetchone()[0] == 0
    restored.close()


def test_backup_on_postgresql_is_a_pg_dump_archive(app, db_kind, tmp_path, monkeypatch):
    """`flask backup` on PostgreSQL writes pg_dump's custom format (restores are proven in
    tests/ops/test_postgres_ops.py)."""
    if db_kind != "postgresql":
        pytest.skip("SQLite backups are proven by the test above")
    target = tmp_path / "clinic.dump"
    modes_while_dumping = []
    run = subprocess.run

    def watched_run(command, **kwargs):  # the file pg_dump writes into, as it starts
        partial = Path(next(arg for arg in command if arg.startswith("--file="))[7:])
        modes_while_dumping.append(stat.S_IMODE(partial.stat().st_mode))
        return run(command, **kwargs)

    monkeypatch.setattr(subprocess, "run", watched_run)
    umask = os.umask(0o022)
    try:
        result = app.test_cli_runner().invoke(args=["backup", str(target)])
    finally:
        os.umask(umask)
    assert result.exit_code == 0, result.output
    assert target.read_bytes()[:5] == b"PGDMP"
    # never readable by other local users, not even while pg_dump is writing it
    assert modes_while_dumping == [0o600]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
