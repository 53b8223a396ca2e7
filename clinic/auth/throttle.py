"""Sign-in throttling that cannot be turned into a lockout.

Three limits: a strict one per account *and* address (Flask-Limiter, in routes.py), one per
address, and a per-account slowdown: after `LOGIN_SLOWDOWN_AFTER` failures in the window, each
further try on the account must wait twice as long as the last (up to
`LOGIN_SLOWDOWN_MAX_SECONDS`). An address the account signed in from recently is exempt from the
slowdown, so hammering a clinician's account from elsewhere never keeps them out at their own
workstation. Counts live in the limiter's storage (memory in development, Redis in production).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from limits.storage import MemoryStorage

from clinic.auth.models import User
from clinic.extensions import db, limiter
from clinic.models.audit import AuditEvent
from clinic.models.base import utcnow

logger = logging.getLogger("clinic.auth.throttle")
# Counts kept in this process while the shared storage (Redis) cannot be reached, so an outage
# never turns into a 500 at sign-in (the same fallback Flask-Limiter uses for its own limits).
_LOCAL = MemoryStorage()
# After a failure the shared storage is left alone this long: an unanswering Redis costs one
# timeout (RATELIMIT_STORAGE_OPTIONS), not one per count read or written.
RETRY_SHARED_AFTER_SECONDS = 30
_shared_down_until = 0.0


def forget_outage() -> None:
    """Try the shared storage again at once, with no counts kept here (tests)."""
    global _shared_down_until
    _shared_down_until = 0.0
    _LOCAL.reset()


def _now() -> float:
    return time.time()


def _storage_call(method: str, *args, **kwargs):
    global _shared_down_until
    if time.monotonic() >= _shared_down_until:
        try:
            return getattr(limiter.storage, method)(*args, **kwargs)
        except Exception:  # any storage failure: Redis down, a timeout
            logger.warning("sign-in slowdown: shared storage unreachable, counting in this process")
            _shared_down_until = time.monotonic() + RETRY_SHARED_AFTER_SECONDS
    return getattr(_LOCAL, method)(*args, **kwargs)


def _keys(email: str) -> tuple[str, str]:
    return f"login-slow/count/{email}", f"login-slow/last/{email}"


def _window_seconds() -> int:
    return current_app.config["LOGIN_SLOWDOWN_WINDOW_MINUTES"] * 60


def failures(email: str) -> int:
    """Failed sign-ins on this account name within the window."""
    return int(_storage_call("get", _keys(email)[0]) or 0)


def delay_after(count: int) -> int:
    """Seconds between tries once `count` failures have been seen (0 below the threshold)."""
    after = current_app.config["LOGIN_SLOWDOWN_AFTER"]
    if count < after:
        return 0
    return int(min(2 ** (count - after + 1), current_app.config["LOGIN_SLOWDOWN_MAX_SECONDS"]))


def trusted_address(user: User | None, address: str | None) -> bool:
    """Whether this account signed in successfully from this address recently."""
    if user is None or not address:
        return False
    since = utcnow() - timedelta(days=current_app.config["LOGIN_TRUSTED_ADDRESS_DAYS"])
    return bool(
        db.session.scalar(
            sa.select(
                sa.exists().where(
                    AuditEvent.action == "auth.login",
                    AuditEvent.actor_id == user.id,
                    AuditEvent.remote_addr == address,
                    AuditEvent.occurred_at >= since,
                )
            )
        )
    )


def seconds_to_wait(email: str, user: User | None, address: str | None) -> int:
    """How long this address must still wait before trying this account (0: go ahead)."""
    delay = delay_after(failures(email))
    if delay == 0 or trusted_address(user, address):
        return 0
    last = float(_storage_call("get", _keys(email)[1]) or 0)
    return max(0, int(last + delay - _now() + 0.999))


def note_failure(email: str) -> None:
    """Count a failed sign-in on this account name and stamp its time."""
    count_key, last_key = _keys(email)
    window = _window_seconds()
    _storage_call("incr", count_key, window)
    _storage_call("clear", last_key)
    _storage_call("incr", last_key, window, amount=int(_now()))
