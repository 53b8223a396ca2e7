"""Health for load balancers and monitors: /livez (the process answers) and /readyz (it can
serve: database reachable and at the migration head; Redis unreachable or the job worker's
heartbeat missing when one is expected only mark it degraded)."""

from __future__ import annotations

import logging
import time
from functools import cache

import redis
import sqlalchemy as sa
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from flask import Blueprint, Flask, current_app, g, jsonify, request

from clinic import MIGRATIONS_DIR, transaction
from clinic.extensions import csrf, db, login_manager
from clinic.jobs.worker import heartbeat_age

bp = Blueprint("health", __name__)
logger = logging.getLogger("clinic.health")
CHECK_TIMEOUT_SECONDS = 2


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    app.before_request_funcs.setdefault(None, []).insert(0, _as_anonymous)


def _as_anonymous() -> None:
    # Health answers never depend on who asks: a stray session cookie must not make them
    # look the user up in the database.
    if request.blueprint == bp.name:
        g._login_user = login_manager.anonymous_user()


@bp.route("/livez")
@csrf.exempt
def livez():
    """The process is up and answering; nothing else is consulted."""
    return jsonify(status="ok")


@bp.route("/readyz")
@csrf.exempt
def readyz():
    """Every dependency the app needs, each answered within a short timeout."""
    started = time.perf_counter()
    checks = {"database": _database(), "redis": _redis()}
    ready = checks["database"] == "ok"
    checks["worker"] = _worker() if ready else "unknown"
    # Neither a silent worker nor an unreachable Redis stops a page: messages wait in the
    # database, and sign-in throttling counts in each process until Redis is back. Either
    # marks the answer degraded for monitors without taking this node (and, as they share
    # both, every other node) out of the load balancer.
    degraded = checks["redis"] not in ("ok", "not configured") or checks["worker"] not in (
        "ok",
        "not configured",
        "unknown",
    )
    body = {
        "status": "unavailable" if not ready else "degraded" if degraded else "ok",
        **checks,
        "seconds": round(time.perf_counter() - started, 3),
    }
    return jsonify(body), 200 if ready else 503


@cache
def migration_heads(migrations_dir: str) -> frozenset[str]:
    """The head revisions of the migration scripts shipped with this code."""

    config = AlembicConfig()
    config.set_main_option("script_location", migrations_dir)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def _database() -> str:

    session = db.session
    try:
        if session.get_bind().dialect.name == "postgresql":
            timeout_ms = CHECK_TIMEOUT_SECONDS * 1000
            session.execute(sa.text(f"SET LOCAL statement_timeout = {timeout_ms}"))
        applied = set(session.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
    except sa.exc.SQLAlchemyError:
        logger.warning("readiness: database unreachable", exc_info=True)
        return "unreachable"
    finally:
        _quiet_rollback()
    if applied != migration_heads(str(MIGRATIONS_DIR)):
        return "schema not at the migration head"
    return "ok"


def _worker() -> str:
    if current_app.config.get("JOBS_MODE") != "worker":
        return "not configured"

    try:
        if db.session.get_bind().dialect.name == "postgresql":
            timeout_ms = CHECK_TIMEOUT_SECONDS * 1000
            db.session.execute(sa.text(f"SET LOCAL statement_timeout = {timeout_ms}"))
        age = heartbeat_age(db.session)
    except sa.exc.SQLAlchemyError:
        logger.warning("readiness: worker heartbeat unreadable", exc_info=True)
        return "unknown"
    finally:
        _quiet_rollback()
    if age is None:
        return "no heartbeat yet"
    if age > current_app.config["JOBS_HEARTBEAT_MAX_AGE"]:
        return f"no heartbeat for {int(age)} s"
    return "ok"


def _redis() -> str:
    uri = current_app.config.get("RATELIMIT_STORAGE_URI", "")
    if not uri.startswith(("redis://", "rediss://")):
        return "not configured"

    try:
        client = redis.Redis.from_url(
            uri, socket_connect_timeout=CHECK_TIMEOUT_SECONDS, socket_timeout=CHECK_TIMEOUT_SECONDS
        )
        client.ping()
        client.close()
    except redis.RedisError:
        logger.warning("readiness: redis unreachable", exc_info=True)
        return "unreachable"
    return "ok"


def _quiet_rollback() -> None:
    transaction.discard()
