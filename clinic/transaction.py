"""One transaction per request.

Routes and services never commit. `ClinicFlask.dispatch_request` runs the view and then
`finish`: a response below 400 commits the request's transaction, anything else (an error
page, a re-rendered invalid form, a 409) rolls it back, and an exception rolls it back before
the error handlers see it. So a refused or failed request leaves nothing half-written.

Three things outlive that rule on purpose:
- `after_commit(callback)`: side effects (e-mail) that must happen only once the change is
  stored; they run after a successful commit and are dropped on rollback.
- `keep_after_rollback(audit kwargs)`: an audit row for a refusal (a time-out hard stop, a
  refused access) is written even though the request's own changes are rolled back.
- A unique or stale-version clash found at commit time becomes a 409 page, never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

from flask import (
    Flask,
    Response,
    abort,
    current_app,
    g,
    has_app_context,
    has_request_context,
    request,
)
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from clinic import submissions
from clinic.db_setup import begin_write
from clinic.errors import Conflict, StaleWrite
from clinic.extensions import db
from clinic.models import audit

_PENDING = "clinic_after_commit"
logger = logging.getLogger("clinic.transaction")


def after_commit(callback: Callable[[], None]) -> None:
    """Run `callback` once the current transaction has committed (never if it rolls back)."""
    db.session().info.setdefault(_PENDING, []).append(callback)


def keep_after_rollback(**audit_fields) -> None:
    """Write this audit row whatever becomes of the request's transaction."""
    if has_app_context():
        g.setdefault("kept_audit", []).append(audit_fields)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    callbacks = session.info.pop(_PENDING, [])
    for callback in callbacks:
        callback()


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_commit(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None and not previous_transaction.nested:
        session.info.pop(_PENDING, None)


def _write_kept_audit() -> None:
    kept = g.pop("kept_audit", [])
    if kept:
        # a refusal's rows (a 403, a 429, a hard stop) are not what a page showed: their
        # commit waits for the disk even on a GET (see _commit_durability)
        g.durable_commit = True
        if not db.session().in_transaction():
            # after the rollback, on SQLite: the lock before the audit reads its actor, or
            # the late upgrade of a read transaction is refused ("database is locked")
            begin_write(db.session)
    for fields in kept:
        audit.record(**fields)


@contextmanager
def attempt() -> Iterator[None]:
    """Run a service's change inside a SAVEPOINT: if it is refused, or the database finds a
    clash when it is flushed, the change is undone at once (the page can then be rendered
    from what is stored) and the refusal is raised in the one vocabulary."""
    try:
        try:
            with db.session.begin_nested():
                yield
        except BaseException:
            # A savepoint's rollback expires only the objects it flushed; one first loaded
            # inside it (after an earlier copy was let go) would keep the undone values.
            db.session.expire_all()
            raise
    except StaleDataError:
        raise StaleWrite() from None
    except IntegrityError:
        raise Conflict(
            "This could not be saved: it clashes with something saved at the same moment. "
            "Reload the page and check before trying again."
        ) from None


def commit() -> None:
    """Commit the request's transaction; a clash found only now is a 409, not a 500 (the audit
    rows kept after a rollback are written again after it)."""
    kept = list(g.get("kept_audit", [])) if has_app_context() else []
    try:
        _write_kept_audit()
        db.session.commit()
    except (IntegrityError, StaleDataError):
        db.session.rollback()
        if kept:
            g.kept_audit = kept
        _write_kept_audit()
        db.session.commit()
        abort(409)


def discard() -> None:
    """Drop the session's transaction after the database failed (an outage, a health probe's
    timeout); nothing is kept, and a connection already lost is left to the pool."""
    try:
        db.session.rollback()
    except DBAPIError:
        logger.debug("rollback after a database failure failed", exc_info=True)
    db.session().info.pop(_PENDING, None)
    if has_app_context():
        g.pop("kept_audit", None)


def rollback() -> None:
    """Undo the request's changes, keeping only the audit rows that must survive."""
    try:
        db.session.rollback()
    except DBAPIError:  # the connection is gone (an outage); the pool discards it
        logger.warning("rollback failed: the database connection was lost")
        g.pop("kept_audit", None)
        return
    finally:
        db.session().info.pop(_PENDING, None)
    if g.get("kept_audit"):
        _write_kept_audit()
        db.session.commit()


_DURABILITY = "clinic_synchronous_commit"  # what this connection's SET last made it


def _commit_durability() -> str:
    """A page view's transaction changes no record: it writes audit rows of what was shown (and
    marks such as last-seen or read times), so on PostgreSQL its commit need not wait for the
    disk (DURABLE_READ_AUDIT=1 makes it wait). Every other transaction waits."""
    if (
        has_request_context()
        and request.method in ("GET", "HEAD")
        and not current_app.config.get("DURABLE_READ_AUDIT")
        and not g.get("durable_commit")
    ):
        return "off"
    return "on"


def watch_commit_durability(engine: Engine) -> None:
    """On PostgreSQL, each transaction starts with `synchronous_commit` as its request needs.
    The setting is the connection's and stays after a commit, so a SET is sent only when it
    changes (a connection serving one page view after another sends none); a rollback undoes
    a SET made in its transaction, so the connection is then taken as unknown."""
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "begin")
    def _set_durability(connection: Connection) -> None:
        wanted = _commit_durability()
        info = connection.info
        if info.get(_DURABILITY) != wanted:
            connection.exec_driver_sql(f"SET synchronous_commit TO {wanted}")
            info[_DURABILITY] = wanted

    @event.listens_for(engine, "rollback")
    def _forget_durability(connection: Connection) -> None:
        with suppress(SQLAlchemyError):  # the connection is already gone (an outage)
            connection.info.pop(_DURABILITY, None)

    @event.listens_for(engine, "handle_error")
    def _unknown_after_error(context) -> None:
        # a failed statement or COMMIT aborts the transaction (and its SET) with no rollback
        # event of the Connection's own
        if context.connection is not None:
            with suppress(SQLAlchemyError):
                context.connection.info.pop(_DURABILITY, None)

    @event.listens_for(engine.pool, "reset")
    def _unknown_after_reset(dbapi_connection, record, _state) -> None:
        # the pool is about to roll back a transaction nothing else ended (a connection let go
        # mid-transaction); after a commit or rollback there is none and the setting stays
        status = getattr(getattr(dbapi_connection, "info", None), "transaction_status", None)
        if getattr(status, "name", "IDLE") != "IDLE":
            record.info.pop(_DURABILITY, None)


def finish(response: Response) -> Response:
    """Commit after a successful view, roll back after a refusal or an error page."""
    if response.status_code < 400:
        submissions.remember_result(response)
        commit()
    else:
        rollback()
    return response


def _writes_nothing(endpoint: str | None) -> bool:
    """Requests that never write: static files, health checks and addresses with no view."""
    return (
        endpoint is None
        or endpoint.rpartition(".")[2] == "static"
        or endpoint
        in (
            "health.livez",
            "health.readyz",
            "main.healthz",
        )
    )


class ClinicFlask(Flask):
    """Flask with the request's transaction settled once, after the view.

    On SQLite every request that may write takes the database's write lock before anything
    is read (BEGIN IMMEDIATE, `begin_write`), so a check-then-write (a taken e-mail, the next
    MRN, a week's version, a submission key) cannot race another writer and nothing written
    earlier in the request is lost to a late upgrade of the lock. That includes page views:
    they write read-audit rows and last-seen times after reading, and a read transaction that
    another request wrote past cannot take the lock later (SQLite answers "database is locked"
    at once, without waiting: a 503 for a page when a few people use the clinic at once).
    Static files and health checks write nothing. PostgreSQL needs nothing here: its
    constraints and row locks settle concurrent writers.
    """

    def preprocess_request(self):
        if request.method == "POST" or not _writes_nothing(request.endpoint):
            begin_write(db.session)
        return super().preprocess_request()

    def dispatch_request(self):
        try:
            response = self.make_response(super().dispatch_request())
        except BaseException:
            rollback()
            raise
        return finish(response)
