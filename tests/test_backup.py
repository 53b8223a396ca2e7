"""A SQLite backup taken while the app runs holds every committed row."""

from __future__ import annotations

import sqlite3

import flask_migrate
import pytest
import sqlalchemy as sa

from clinic.demo import load_demo_data
from clinic.extensions import db
from tests.conftest import make_test_app
from tests.databases import sqlite_url


def test_backup_restores_every_committed_row(tmp_path):
    app = make_test_app(sqlite_url("backup"))
    with app.app_context():
        flask_migrate.upgrade()
        load_demo_data()
        db.session.commit()
        counts = {
            table: db.session.scalar(sa.select(sa.func.count()).select_from(sa.table(table)))
            for table in ("user_account", "patient", "audit_event")
        }
        target = tmp_path / "copy.db"
        result = app.test_cli_runner().invoke(args=["backup", str(target)])
        assert result.exit_code == 0, result.output
        again = app.test_cli_runner().invoke(args=["backup", str(target)])
        assert again.exit_code != 0 and "exists" in again.output
        db.engine.dispose()
    restored = sqlite3.connect(target)
    for table, count in counts.items():
        assert count > 0
        assert restored.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == count  # noqa: S608
    restored.close()


def test_backup_on_postgresql_is_a_pg_dump_archive(app, db_kind, tmp_path):
    """`flask backup` on PostgreSQL writes pg_dump's custom format (restores are proven in
    tests/ops/test_postgres_ops.py)."""
    if db_kind != "postgresql":
        pytest.skip("SQLite backups are proven by the test above")
    target = tmp_path / "clinic.dump"
    result = app.test_cli_runner().invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes()[:5] == b"PGDMP"
