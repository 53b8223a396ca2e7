"""Engine settings per database: SQLite needs foreign keys, WAL and explicit transactions."""

from __future__ import annotations

from typing import cast

import psycopg
from psycopg import pq
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.orm import Session, scoped_session

# Execution option asking for a transaction that holds the write lock from its first statement.
WRITE_LOCK = "clinic_write_lock"


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
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
    """PostgreSQL with psycopg: the pool's liveness check opens the transaction the request is
    about to run.

    A pooled connection may have been closed by the server (a restart, an idle timeout), so
    each checkout proves it alive before use. SQLAlchemy's own check (pool_pre_ping) sends an
    empty statement, and psycopg then sends BEGIN before the first query: two round trips.
    Sending BEGIN itself is the check, one round trip less on every request; psycopg decides
    whether to begin from the server's transaction status, so it sends no second BEGIN.

    - A connection with its own transaction settings (an isolation level, read-only,
      deferrable, autocommit) is only checked: psycopg then begins it its own way.
    - A pooled connection that fails the check is gone and so, most likely, are the others
      from before (a restart): the pool drops them all and connects afresh, as pre-ping did
      (SQLAlchemy's documented pessimistic disconnect handling).
    - A connection made just now that fails it (the server accepted it, then failed: a pooler
      in front of a database that is down) gives the driver's error, which reaches the
      request as any outage does (the 503 page).
    - A change of those settings later (execution options) first ends the empty transaction
      begun here, as psycopg changes them only between transactions.
    """
    idle = pq.TransactionStatus.IDLE
    answered = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.EMPTY_QUERY)

    @event.listens_for(engine, "connect")
    def _made_now(_dbapi_connection, record) -> None:
        record.info[_FRESH] = True

    @event.listens_for(engine, "checkout")
    def _check_and_begin(dbapi_connection, record, _proxy) -> None:
        fresh = record.info.pop(_FRESH, False)
        pgconn = dbapi_connection.pgconn
        plain = (
            not dbapi_connection.autocommit
            and dbapi_connection.isolation_level is None
            and dbapi_connection.read_only is None
            and dbapi_connection.deferrable is None
            and pgconn.transaction_status == idle
        )
        try:
            result = pgconn.exec_(b"BEGIN" if plain else b";")
        except psycopg.Error as err:
            failure = str(err)
        else:
            if result.status in answered:
                return
            failure = (result.error_message or b"").decode(errors="replace").strip()
        failure = failure or "the database connection is gone"
        if fresh:
            raise psycopg.OperationalError(failure)
        raise exc.InvalidatePoolError(failure)

    dialect = cast(DefaultDialect, engine.dialect)
    set_characteristics = dialect._set_connection_characteristics

    def _outside_the_begun_transaction(connection, characteristics) -> None:
        dbapi_connection = connection.connection.dbapi_connection
        if not connection.in_transaction() and dbapi_connection.pgconn.transaction_status != idle:
            dbapi_connection.rollback()  # the empty transaction begun at checkout
        set_characteristics(connection, characteristics)

    setattr(dialect, "_set_connection_characteristics", _outside_the_begun_transaction)  # noqa: B010


_FRESH = "clinic_connected_now"


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
