"""One transaction per request: success commits, refusals and errors leave nothing, side
effects wait for the commit, refusal audit rows outlive the rollback, and no route commits."""

from __future__ import annotations

import gc
import re
import secrets
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from flask import redirect

from clinic import transaction
from clinic.errors import Refused
from clinic.extensions import db
from clinic.models.audit import AuditEvent
from clinic.models.submission import FormSubmission
from clinic.transaction import after_commit, attempt, keep_after_rollback
from tests.conftest import make_test_app
from tests.databases import fresh_url

CLINIC = Path(__file__).resolve().parents[2] / "clinic"
# The only modules that may end a transaction: the request hook itself, the command line
# and the job worker and its messaging pass (no request there) and the engine settings.
MAY_COMMIT = {
    "transaction.py", "cli.py", "db_setup.py", "demo.py", "backup.py", "worker.py", "scheduler.py",
}  # fmt: skip


def test_no_route_or_service_commits_or_rolls_back():
    offenders = []
    for path in CLINIC.rglob("*.py"):
        if path.name in MAY_COMMIT or "demo" in path.name:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"session\.(commit|rollback)\(", line):
                offenders.append(f"{path.relative_to(CLINIC)}:{number}: {line.strip()}")
    assert offenders == []


SENT: list[str] = []


@pytest.fixture(scope="module")
def tx_app(db_kind):
    """An app of its own with a few views that write a row and then answer in different ways."""
    app = make_test_app(
        fresh_url(db_kind, "transaction"), WTF_CSRF_ENABLED=False, PROPAGATE_EXCEPTIONS=False
    )

    def write(key: str) -> None:
        db.session.add(FormSubmission(key=key))

    @app.route("/t/ok/<key>", methods=["POST"])
    def ok(key):
        write(key)
        after_commit(lambda: SENT.append(key))
        return redirect("/done")

    @app.route("/t/read/<key>")
    def read(key):
        write(key)  # as a page view's audit row
        return "shown", 200

    @app.route("/t/durability/<key>", methods=["GET", "POST"])
    def durability(key):
        write(key)
        return db.session.scalar(sa.text("SHOW synchronous_commit")), 200

    @app.route("/t/refused-read/<key>")
    def refused_read(key):
        write(key)
        keep_after_rollback(action="test.refused", detail=key)
        return "not for you", 403

    @app.route("/t/refused/<key>", methods=["POST"])
    def refused(key):
        write(key)
        after_commit(lambda: SENT.append(key))
        keep_after_rollback(action="test.refused", detail=key)
        return "no", 422

    @app.route("/t/boom/<key>", methods=["POST"])
    def boom(key):
        write(key)
        raise RuntimeError("a bug after writing")

    @app.route("/t/clash/<key>", methods=["POST"])
    def clash(key):
        write(key)
        return "saved?", 200

    @app.route("/t/attempt/<key>", methods=["POST"])
    def attempted(key):
        write(key)  # kept: outside the refused attempt
        try:
            with attempt():
                write(key + "-inner")
                raise Refused("not this part")
        except Refused:
            pass
        return redirect("/done")

    with app.app_context():
        flask_migrate.upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


def _exists(app, key: str) -> bool:
    with app.app_context():
        found = db.session.get(FormSubmission, key) is not None
        db.session.remove()
        return found


def _key() -> str:
    return secrets.token_urlsafe(16)


def test_a_successful_view_commits_then_runs_its_side_effects(tx_app):
    key = _key()
    response = tx_app.test_client().post(f"/t/ok/{key}")
    assert response.status_code == 302
    assert _exists(tx_app, key)
    assert key in SENT


def test_a_page_view_commits_without_waiting_for_the_disk_and_a_change_waits(tx_app):
    """On PostgreSQL a GET's commit (its audit rows) does not wait for the WAL to reach the
    disk; a POST's does, and so does a GET's with DURABLE_READ_AUDIT. The setting is sent only
    when a connection's changes (not once per page view), and a rollback, which undoes a SET,
    leaves the next transaction set again. Either way the row is stored and visible at once."""
    with tx_app.app_context():
        engine = db.engine
        postgres = engine.dialect.name == "postgresql"
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    def durability(method: str, path: str) -> tuple[str, list[str]]:
        seen.clear()
        sa.event.listen(engine, "before_cursor_execute", note)
        try:
            response = tx_app.test_client().open(path, method=method)
        finally:
            sa.event.remove(engine, "before_cursor_execute", note)
        assert response.status_code in (200, 302, 403, 422)
        return response.get_data(as_text=True), [s for s in seen if "synchronous_commit" in s]

    def setting_of(method: str) -> str:
        return durability(method, f"/t/durability/{_key()}")[0]

    if not postgres:
        assert durability("GET", f"/t/read/{_key()}")[1] == []
        return
    assert setting_of("GET") == "off"
    key = _key()
    assert durability("GET", f"/t/read/{key}")[1] == []  # already off: nothing sent
    assert _exists(tx_app, key)
    assert setting_of("POST") == "on"
    assert setting_of("GET") == "off"
    assert setting_of("GET") == "off"
    # the refusal's SET is rolled back with it; its kept audit row's commit must still wait
    durability("POST", f"/t/refused/{_key()}")
    assert setting_of("POST") == "on"
    assert setting_of("GET") == "off"
    # a refused page view's kept audit row (a 403) is not a row of what was shown: it waits
    _, sent = durability("GET", f"/t/refused-read/{_key()}")
    assert sent[-1:] == ["SET synchronous_commit TO on"]
    assert setting_of("GET") == "off"
    tx_app.config["DURABLE_READ_AUDIT"] = True
    try:
        assert setting_of("GET") == "on"
        key = _key()
        durability("GET", f"/t/read/{key}")
        assert _exists(tx_app, key)
    finally:
        tx_app.config["DURABLE_READ_AUDIT"] = False


def test_the_connections_setting_is_forgotten_when_a_transaction_ends_unseen(tx_app):
    """A failed statement (or COMMIT) and the pool's own rollback of a connection let go
    mid-transaction undo a SET without the Connection's rollback: the cached setting goes."""
    with tx_app.app_context():
        engine = db.engine
        if engine.dialect.name != "postgresql":
            pytest.skip("the setting is PostgreSQL's")
        key = "clinic_synchronous_commit"
        with engine.connect() as connection:
            connection.info[key] = "on"
            with pytest.raises(sa.exc.DBAPIError):
                connection.exec_driver_sql("SELECT 1 / 0")
            assert key not in connection.info
        raw = engine.raw_connection()
        info = raw.info
        cursor = raw.cursor()
        cursor.execute("SELECT 1")  # a transaction begun, and let go unfinished
        cursor.close()
        info[key] = "off"
        raw.close()
        assert key not in info
        raw = engine.raw_connection()
        info = raw.info
        info[key] = "off"
        raw.commit()
        raw.close()  # its transaction ended before it was let go: the setting stays known
        assert info[key] == "off"


def _backends_of(engine) -> list[int]:
    """The server processes of this database's other client connections (the app's pool)."""
    admin = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        pids = connection.scalars(
            sa.text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND usename = current_user "
                "AND pid <> pg_backend_pid()"
            )
        ).all()
    admin.dispose()
    return list(pids)


def _terminate(engine, pids: list[int]) -> None:
    admin = sa.create_engine(engine.url, poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        for pid in pids:
            connection.execute(sa.text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pid})
    admin.dispose()


def _own_engine(url, **options):
    """An engine set up as the app's (clinic.db_setup), outside any app."""
    from clinic.db_setup import configure_engine

    engine = sa.create_engine(url, pool_pre_ping=False, **options)
    configure_engine(engine)
    return engine


def test_the_pools_liveness_check_begins_the_transaction(tx_app):
    """PostgreSQL: the check made on every checkout is the transaction's BEGIN (one round trip
    a request, not an empty statement and then BEGIN), and psycopg sends no second BEGIN."""
    with tx_app.app_context():
        engine = db.engine
        if engine.dialect.name != "postgresql":
            pytest.skip("the check is PostgreSQL's")
        assert engine.pool._pre_ping is False  # replaced by the check below, not doubled
        raw = engine.raw_connection()
        driver = raw.driver_connection
        notices: list[str] = []

        def note(notice) -> None:
            notices.append(notice.message_primary)

        driver.add_notice_handler(note)
        try:
            assert driver.info.transaction_status.name == "INTRANS"
            cursor = raw.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            assert notices == []  # no "there is already a transaction in progress"
        finally:
            driver.remove_notice_handler(note)
            raw.rollback()
            raw.close()


def test_connections_with_their_own_transaction_settings_keep_them(tx_app):
    """A connection with an isolation level, autocommit or read-only set (on the engine or
    through execution options) is only checked: psycopg begins it its own way."""
    with tx_app.app_context():
        url = db.engine.url
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the check is PostgreSQL's")
    serializable = _own_engine(url, isolation_level="SERIALIZABLE")
    try:
        with serializable.connect() as connection:
            level = connection.exec_driver_sql("SHOW transaction_isolation").scalar()
            assert level == "serializable"
    finally:
        serializable.dispose()
    engine = _own_engine(url)
    try:
        with engine.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:
            connection.exec_driver_sql("SELECT 1")
            assert connection.connection.driver_connection.info.transaction_status.name == "IDLE"
        with engine.connect() as connection:
            connection.execution_options(postgresql_readonly=True)
            with pytest.raises(sa.exc.DBAPIError, match="read-only"):
                connection.exec_driver_sql("CREATE TEMPORARY TABLE t (x int)")
        with engine.connect() as connection:
            connection.exec_driver_sql("CREATE TEMPORARY TABLE kept (x int)")
            with pytest.raises(sa.exc.InvalidRequestError):
                connection.execution_options(isolation_level="SERIALIZABLE")
            # SQLAlchemy refused; the work begun before is still there
            assert connection.exec_driver_sql("SELECT count(*) FROM kept").scalar() == 0
    finally:
        engine.dispose()


def test_a_connection_the_server_closed_is_replaced_without_an_error(tx_app):
    """A pooled connection ended by the server (a restart, an administrator, an idle timeout)
    fails the checkout's check and is replaced: the next page is served as usual."""
    with tx_app.app_context():
        engine = db.engine
        if engine.dialect.name != "postgresql":
            pytest.skip("a server that closes connections is PostgreSQL's")
    client = tx_app.test_client()
    assert client.get(f"/t/read/{_key()}").status_code == 200
    pooled = _backends_of(engine)
    assert pooled  # the page's connection waits in the pool
    _terminate(engine, pooled)
    key = _key()
    assert client.get(f"/t/read/{key}").status_code == 200
    assert _exists(tx_app, key)
    assert not set(_backends_of(engine)) & set(pooled)


def test_a_new_connection_that_fails_its_check_gives_the_database_error(tx_app):
    """A connection the server accepted and then closed (a pooler in front of a database that
    is down) fails with the database's error, which the app answers with its 503 page, not
    with the pool's "connection is closed" (a 500)."""
    with tx_app.app_context():
        url = db.engine.url
        if db.engine.dialect.name != "postgresql":
            pytest.skip("a server that closes connections is PostgreSQL's")
    engine = _own_engine(url)

    @sa.event.listens_for(engine, "connect")
    def _closed_at_once(dbapi_connection, _record) -> None:
        _terminate(engine, [dbapi_connection.info.backend_pid])

    try:
        with pytest.raises(sa.exc.OperationalError), engine.connect():
            pass
    finally:
        engine.dispose()


def test_a_refused_view_leaves_nothing_but_its_audit_row(tx_app):
    key = _key()
    response = tx_app.test_client().post(f"/t/refused/{key}")
    assert response.status_code == 422
    assert not _exists(tx_app, key)
    assert key not in SENT  # no side effect for a change that was rolled back
    with tx_app.app_context():
        kept = db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.detail == key)
        )
        db.session.remove()
    assert kept == 1


def test_an_error_after_writing_leaves_nothing(tx_app):
    key = _key()
    response = tx_app.test_client().post(f"/t/boom/{key}")
    assert response.status_code == 500
    assert "nothing was saved" in response.get_data(as_text=True)
    assert not _exists(tx_app, key)


def test_a_clash_found_at_commit_is_a_409_not_a_500(tx_app):
    key = _key()
    client = tx_app.test_client()
    assert client.post(f"/t/clash/{key}").status_code == 200
    again = client.post(f"/t/clash/{key}")  # the same primary key: the commit fails
    assert again.status_code == 409
    assert "not saved" in again.get_data(as_text=True)


def test_a_refused_attempt_undoes_only_its_own_part(tx_app):
    key = _key()
    assert tx_app.test_client().post(f"/t/attempt/{key}").status_code == 302
    assert _exists(tx_app, key)
    assert not _exists(tx_app, key + "-inner")


def test_a_refused_attempt_leaves_no_undone_value_in_memory(app, db):
    """A row loaded first inside the savepoint, then changed and flushed there, shows what is
    stored once the attempt is refused (SQLAlchemy expires only what the savepoint flushed)."""
    from clinic.auth.models import User
    from tests import factories

    user_id = factories.make_user(full_name="Stored Name").id
    db.session.expunge_all()
    held = []
    with pytest.raises(Refused), attempt():
        user = db.session.get(User, user_id)
        user.full_name = "Undone Name"
        db.session.flush()
        del user  # the copy the savepoint flushed is let go ...
        gc.collect()
        held.append(db.session.get(User, user_id))  # ... and one loaded again inside it
        raise Refused("no")
    assert held[0].full_name == "Stored Name"


def test_after_commit_callbacks_are_dropped_on_rollback(app, db):
    ran: list[str] = []
    db.session.execute(sa.text("SELECT 1"))
    after_commit(lambda: ran.append("first"))
    db.session.rollback()
    db.session.commit()
    assert ran == []
    after_commit(lambda: ran.append("second"))
    db.session.commit()
    assert ran == ["second"]


def test_commit_turns_a_unique_clash_into_a_409(app, db):
    from werkzeug.exceptions import Conflict as HttpConflict

    key = _key()
    with app.test_request_context():
        db.session.add(FormSubmission(key=key))
        db.session.flush()
        db.session.add(FormSubmission(key=key + "x"))
        db.session.expunge_all()
        db.session.add(FormSubmission(key=key))
        with pytest.raises(HttpConflict):
            transaction.commit()


def test_audit_rows_kept_after_a_rollback_survive_a_clash_at_commit(app, db):
    """A row registered with keep_after_rollback is written even when the commit clashes and
    the request becomes a 409 (the clash rolls back the first copy; it is written again)."""
    from werkzeug.exceptions import Conflict as HttpConflict

    key = _key()
    with app.test_request_context():
        db.session.add(FormSubmission(key=key))
        db.session.flush()
        db.session.expunge_all()
        db.session.add(FormSubmission(key=key))
        keep_after_rollback(action="test.kept_on_clash", detail=key)
        with pytest.raises(HttpConflict):
            transaction.commit()
    kept = db.session.scalars(
        sa.select(AuditEvent.detail).where(AuditEvent.action == "test.kept_on_clash")
    ).all()
    assert kept == [key]
