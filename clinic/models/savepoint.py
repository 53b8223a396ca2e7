"""Writes that may lose a race: flushed inside a SAVEPOINT, a unique violation becomes a
`Conflict` and the request's transaction carries on (so the page can still be shown)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import IntegrityError

from clinic.errors import Conflict
from clinic.extensions import db

UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE for unique_violation


def is_unique_violation(err: IntegrityError) -> bool:
    """Did this write break a unique constraint or index (rather than a check or a key)?"""
    code = getattr(err.orig, "sqlstate", None) or getattr(err.orig, "pgcode", None)
    if code:
        return code == UNIQUE_VIOLATION
    return "UNIQUE constraint failed" in str(err.orig)


@contextmanager
def unique_or_conflict(message: str, field: str | None = None) -> Iterator[None]:
    """Run the block and flush it in a SAVEPOINT; a duplicate becomes `Conflict(message, field)`.

    Add the new rows inside the block: `begin_nested` flushes what was pending before it.
    """
    try:
        with db.session.begin_nested():
            yield
            db.session.flush()
    except IntegrityError as err:
        if not is_unique_violation(err):
            raise
        raise Conflict(message, field) from err
