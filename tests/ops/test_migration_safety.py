"""Downgrades never silently drop data the app needs: the appointment <-> stage links
(revision 3b9adb9e42f8) and undelivered e-mail (7d3f9c1e2a40) make them refuse."""

from __future__ import annotations

import flask_migrate
import pytest
import sqlalchemy as sa

from clinic.demo import load_demo_data
from clinic.extensions import db
from clinic.jobs import queue
from tests.conftest import make_test_app
from tests.databases import fresh_url

LINKS = "3b9adb9e42f8"
QUEUE = "7d3f9c1e2a40"


def _head(conn) -> str:
    return conn.scalar(sa.text("SELECT version_num FROM alembic_version"))


def _linked(conn) -> int:
    return conn.scalar(
        sa.text(
            "SELECT count(*) FROM appointment WHERE stage_id IS NOT NULL "
            "OR follow_up_id IS NOT NULL"
        )
    )


@pytest.fixture
def migrated(db_kind):
    app = make_test_app(fresh_url(db_kind, "migrations"))
    with app.app_context():
        flask_migrate.upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


def test_downgrade_refuses_while_appointments_are_linked_to_stages(migrated, capfd):
    load_demo_data()
    db.session.execute(
        sa.text(
            "UPDATE appointment SET stage_id = (SELECT min(id) FROM stage) "
            "WHERE id = (SELECT min(id) FROM appointment)"
        )
    )
    db.session.commit()
    linked = _linked(db.session)
    assert linked > 0
    db.session.remove()
    # Only this revision's downgrade runs (the later ones are proven on an empty database by
    # tests/test_migrations.py), so the refusal is what stops it.
    flask_migrate.stamp(revision=LINKS)
    with pytest.raises(SystemExit):
        flask_migrate.downgrade(revision=f"{LINKS}-1")
    said = "".join(capfd.readouterr())
    assert f"Refusing to downgrade revision {LINKS}: {linked} appointments" in said
    with db.engine.connect() as conn:
        assert _linked(conn) == linked  # nothing dropped
        assert _head(conn) == LINKS


def test_downgrade_refuses_while_mail_waits_for_delivery(migrated, capfd):
    queue.enqueue(db.session, "a@x.example.com", "Hello", "Body")
    db.session.commit()
    db.session.remove()
    # Only this revision's downgrade runs (later ones are proven by tests/test_migrations.py).
    flask_migrate.stamp(revision=QUEUE)
    with pytest.raises(SystemExit):
        flask_migrate.downgrade(revision=f"{QUEUE}-1")
    said = "".join(capfd.readouterr())
    assert "1 e-mail messages are not delivered yet" in said
    db.session.remove()
    with db.engine.connect() as conn:
        assert _head(conn) == QUEUE
        assert conn.scalar(sa.text("SELECT count(*) FROM outgoing_message")) == 1


def test_downgrade_without_links_goes_through(migrated):
    flask_migrate.downgrade(revision=LINKS)
    flask_migrate.downgrade(revision=f"{LINKS}-1")
    with db.engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("appointment")}
    assert "stage_id" not in columns
