"""Migrations build exactly the models' schema, and every revision downgrades, on both databases."""

from __future__ import annotations

import flask_migrate
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from clinic import MIGRATIONS_DIR
from clinic.extensions import db
from tests.conftest import make_test_app
from tests.databases import fresh_url


def _scratch_app(db_kind: str):
    return make_test_app(fresh_url(db_kind, "migrations"))


def _tables(engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_head_equals_the_models(db_kind):
    app = _scratch_app(db_kind)
    with app.app_context():
        flask_migrate.upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []
        _assert_included_columns_match(db.engine)
        result = app.test_cli_runner().invoke(args=["db", "check"])
        assert result.exit_code == 0, result.output
        assert _tables(db.engine) == set(db.metadata.tables)
        db.engine.dispose()


def _assert_included_columns_match(engine) -> None:
    """Alembic does not compare an index's INCLUDE columns (PostgreSQL): checked here."""
    if engine.dialect.name != "postgresql":
        return
    inspector = sa.inspect(engine)
    for table in db.metadata.sorted_tables:
        built = {
            index["name"]: list(index.get("dialect_options", {}).get("postgresql_include", []))
            for index in inspector.get_indexes(table.name)
        }
        for index in table.indexes:
            wanted = list(index.dialect_options["postgresql"].get("include") or [])
            assert built.get(index.name) == wanted, (index.name, built.get(index.name), wanted)


def test_every_revision_downgrades_and_upgrades_again(db_kind):
    app = _scratch_app(db_kind)
    script = ScriptDirectory(str(MIGRATIONS_DIR))
    revisions = list(script.walk_revisions())  # newest first
    with app.app_context():
        flask_migrate.upgrade()
        for revision in revisions:
            flask_migrate.downgrade(revision=revision.down_revision or "base")
        assert _tables(db.engine) == set()
        flask_migrate.upgrade()
        assert _tables(db.engine) == set(db.metadata.tables)
        db.engine.dispose()


def test_there_is_one_head():
    assert len(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads()) == 1
