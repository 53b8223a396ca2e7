"""Logs an operator can use and a privacy officer can accept.

Every request gets an id (a well-formed `X-Request-ID` from the proxy, else a new one), returned
as a response header and shown on error pages. One line per request names the route (the
endpoint, never the path or query), status, duration and user id. In production the lines are
JSON. Nothing here logs a path, a query string, a form field or an SQL parameter; database
errors are logged by class and statement only, because the server's own message may quote
values (PostgreSQL: `Key (email)=(...) already exists`).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import traceback
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_app_context, request, session
from flask.logging import default_handler
from gunicorn.glogging import Logger as GunicornBaseLogger
from sqlalchemy.exc import DBAPIError, StatementError

from config import config_from_env

REQUEST_ID_HEADER = "X-Request-ID"
WELL_FORMED_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,127}")
# Path segments that carry secrets: /portal/link/<token>, /feed/<token>.ics.
SECRET_PATHS = re.compile(r"^/(portal/link|feed)/[^/?#]+")
# Attributes a log record carries for every LogRecord; anything else is a structured field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

logger = logging.getLogger("clinic.requests")


def request_id() -> str | None:
    """The id of the request being served."""
    return g.get("request_id")


def redact_path(path: str) -> str:
    """A URL path safe to log: secret-bearing segments replaced, query string dropped."""
    path = path.split("?", 1)[0]
    return SECRET_PATHS.sub(lambda m: f"/{m.group(1)}/[redacted]", path)


def _start() -> None:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = offered if WELL_FORMED_ID.fullmatch(offered) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _signed_in_user_id() -> int | None:
    # The signed cookie's claim, read without loading the user (no query, works when the
    # database is down).
    claim = str(session.get("_user_id", "")).split(":", 1)[0]
    return int(claim) if claim.isdigit() else None


def _finish(response):
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
    logger.info(
        "request",
        extra={
            "request_id": g.get("request_id"),
            "method": request.method,
            "route": request.endpoint or "unmatched",
            "status": response.status_code,
            "duration_ms": duration_ms,
            "user_id": _signed_in_user_id(),
            "client": request.remote_addr,
        },
    )
    return response


def _is_database_error(exc: BaseException) -> bool:

    return isinstance(exc, DBAPIError | StatementError) or type(exc).__module__.startswith(
        "psycopg"
    )


def safe_exception_text(exc_info) -> str:
    """A traceback whose database errors show the class and SQL text, never values."""
    kind, exc, tb = exc_info
    chain, seen = [], exc
    while seen is not None:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    if not any(_is_database_error(e) for e in chain):
        return "".join(traceback.format_exception(kind, exc, tb)).rstrip()
    statement = getattr(exc, "statement", None)
    orig = getattr(exc, "orig", None)
    summary = f"{kind.__module__}.{kind.__name__}"
    if orig is not None:
        summary += f" ({type(orig).__module__}.{type(orig).__name__})"
    if statement:
        summary += f" [SQL: {statement}]"
    return "Traceback (most recent call last):\n" + "".join(traceback.format_tb(tb)) + summary


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if "request_id" not in entry:
            entry["request_id"] = _current_request_id()
        if record.exc_info:
            entry["exception"] = safe_exception_text(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """Plain lines for development, with the same care for database errors."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatException(self, ei) -> str:
        return safe_exception_text(ei)


def _current_request_id() -> str | None:

    return g.get("request_id") if has_app_context() else None


def configure_logging(app: Flask, stream=None) -> logging.Handler:
    """Send the app's logs (and SQLAlchemy's, gunicorn's error log) to one handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if app.config["LOG_FORMAT"] == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "clinic_handler", False)]:
        root.removeHandler(old)
    handler.clinic_handler = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])
    app.logger.removeHandler(default_handler)
    return handler


def register(app: Flask) -> None:
    """Request ids first of all hooks (so a failing user lookup still has one), the per-request
    line last; error pages see `request_id`."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
    app.context_processor(lambda: {"request_id": request_id()})
    if not app.testing:
        configure_logging(app)


class GunicornLogger(GunicornBaseLogger):
    """gunicorn's logger with access lines that never hold a query string, a referrer or a
    secret path segment (portal links, calendar feeds), and its own lines (workers booting,
    timeouts, a worker that failed to start) as JSON when the app logs JSON, so that every
    line on standard error is one object."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        if _settings_log_format() == "json":
            for handler in self.error_log.handlers:
                handler.setFormatter(JsonFormatter())

    def atoms(self, resp, req, environ, request_time):
        path = redact_path(environ.get("PATH_INFO", ""))
        safe_environ = {k: v for k, v in environ.items() if k not in UNLOGGED_ENVIRON}
        safe_environ.update(PATH_INFO=path, RAW_URI=path, QUERY_STRING="")
        safe_request = _HeadersOnly(
            [(k, v) for k, v in getattr(req, "headers", []) if k.upper() not in UNLOGGED_HEADERS]
        )
        atoms = super().atoms(resp, safe_request, safe_environ, request_time)
        method, protocol = environ.get("REQUEST_METHOD"), environ.get("SERVER_PROTOCOL")
        atoms.update({"U": path, "r": f"{method} {path} {protocol}", "q": "", "f": "-"})
        return atoms


def _settings_log_format() -> str:
    """LOG_FORMAT of the settings CLINIC_ENV names (the app is not built yet in gunicorn's
    master); text when they cannot be read, so gunicorn can still say why the app fails."""
    try:
        return str(config_from_env().LOG_FORMAT)
    except RuntimeError:  # an unknown CLINIC_ENV: the app says so itself
        return "text"


class _HeadersOnly:
    def __init__(self, headers: list[tuple[str, str]]) -> None:
        self.headers = headers


UNLOGGED_HEADERS = {"REFERER", "COOKIE", "AUTHORIZATION"}
UNLOGGED_ENVIRON = {"HTTP_REFERER", "HTTP_COOKIE", "HTTP_AUTHORIZATION"}
