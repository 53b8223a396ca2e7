"""Engine settings per database: SQLite needs foreign keys, WAL and explicit transactions."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session

# Execution option asking for a transaction that holds the write lock from its first statement.
WRITE_LOCK = "clinic_write_lock"


def configure_engine(engine: Engine) -> None:
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
