"""Engine settings per database: SQLite needs foreign keys, WAL and explicit transactions."""

from __future__ import annotations

import psycopg
from psycopg import pq
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session

# Execution option asking for a transaction that holds the write lock from its first statement.
WRITE_LOCK = "clinic_write_lock"


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        _begin_on_checkout(engine)
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin, so that
        # SAVEPOINTs work and writers can take the lock up front (BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 15000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        immediate = connection.get_execution_options().get(WRITE_LOCK)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _begin_on_checkout(engine: Engine) -> None:
    """PostgreSQL: the pool's liveness check opens the transaction the request is about to run.

    A pooled connection may have been closed by the server (a restart, an idle timeout), so
    each checkout proves it alive before use. SQLAlchemy's own check (pool_pre_ping) sends an
    empty statement, and psycopg then sends BEGIN before the first query: two round trips.
    Sending BEGIN itself is the check, one round trip less on every request. psycopg decides
    whether to begin from the server's transaction status, so it sends no second BEGIN. A dead
    connection answers with an error: DisconnectionError makes the pool replace it and try
    again (SQLAlchemy's documented pessimistic disconnect handling), and when the server is
    down the new connection's error reaches the request as any outage does (the 503 page).
    """
    idle, ok = pq.TransactionStatus.IDLE, pq.ExecStatus.COMMAND_OK

    @event.listens_for(engine, "checkout")
    def _check_and_begin(dbapi_connection, _record, _proxy) -> None:
        pgconn = dbapi_connection.pgconn
        # a connection in autocommit mode (none of the app's) is only checked, never begun
        command = b";" if dbapi_connection.autocommit else b"BEGIN"
        if pgconn.transaction_status != idle:
            command = b";"
        try:
            result = pgconn.exec_(command)
        except psycopg.Error as err:
            raise exc.DisconnectionError(str(err)) from err
        if result.status not in (ok, pq.ExecStatus.EMPTY_QUERY):
            raise exc.DisconnectionError(
                (result.error_message or b"").decode(errors="replace").strip()
                or "the database connection is gone"
            )

    @event.listens_for(engine, "set_connection_execution_options")
    def _isolation_outside_the_transaction(connection, options) -> None:
        # psycopg changes autocommit or the isolation level only between transactions
        if "isolation_level" in options:
            connection.connection.dbapi_connection.rollback()


def begin_write(session: Session | scoped_session) -> None:
    """Start the session's transaction holding the database's write lock (SQLite: BEGIN
    IMMEDIATE), so that a check-then-write cannot race another writer.

    Call it before a route reads what it will decide on. Whatever the session read before
    (e.g. the signed-in user) is expired and reloaded inside the new transaction. PostgreSQL
    needs nothing here: its constraints (exclusion, unique) settle concurrent writers.
    """
    if isinstance(session, scoped_session):
        session = session()
    if session.get_bind().dialect.name != "sqlite" or session.info.get(_LOCKED):
        return
    if session.in_transaction():
        session.rollback()
    session.connection(execution_options={WRITE_LOCK: True})
    session.info[_LOCKED] = True


_LOCKED = "clinic_write_locked"


@event.listens_for(Session, "after_transaction_end")
def _forget_write_lock(session: Session, transaction) -> None:
    # The lock is held until the outermost transaction ends; a second begin_write in the
    # same transaction (a submission key, then the booking) must not roll the first back.
    if transaction.parent is None:
        session.info.pop(_LOCKED, None)
