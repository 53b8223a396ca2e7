"""Database outages answer with a 503 page that needs no database.

A connection that cannot be made, is lost, or a statement that hits the statement timeout
ends in a "temporarily unavailable" page with `Retry-After`. It is rendered straight from the
Jinja environment, so no context processor runs: no `current_user` lookup, no navigation.
The security headers are added by the usual after-request hook.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, g
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from clinic import transaction

logger = logging.getLogger("clinic.outage")


def is_database_outage(error: BaseException | None) -> bool:
    """Whether an error means the database is unreachable or too slow (not a bad query)."""
    if isinstance(error, OperationalError | PoolTimeout):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def unavailable_response():
    """The 503 page, rendered without touching the database."""
    transaction.discard()
    html = current_app.jinja_env.get_template("errors/unavailable.html").render(
        clinic_name=current_app.config["CLINIC_NAME"], request_id=g.get("request_id")
    )
    retry_after = str(current_app.config.get("UNAVAILABLE_RETRY_AFTER", 30))
    return html, 503, {"Retry-After": retry_after}


def _database_error(error: DBAPIError | PoolTimeout):
    if not is_database_outage(error):
        raise error  # a bad query is a bug: the 500 page, not "try again later"
    logger.error("database unavailable", exc_info=error)
    return unavailable_response()


def register(app: Flask) -> None:
    app.register_error_handler(DBAPIError, _database_error)
    app.register_error_handler(PoolTimeout, _database_error)  # every pooled connection busy
