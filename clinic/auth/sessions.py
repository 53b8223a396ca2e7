"""Session rules: the user loader, idle and absolute time limits, and where each role lands."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import timedelta
from functools import cache

import sqlalchemy as sa
from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from clinic.auth import mfa
from clinic.auth.models import Role, SecondFactor, SignedInSession, User
from clinic.extensions import db, login_manager
from clinic.models import audit
from clinic.models.base import utcnow

# Seconds between updates of a session's "last seen" time (not a write on every request).
SEEN_EVERY = 60
# Seconds between renewals of the cookie's own "seen at" (a session cookie is signed and sent
# again only when it changes: SESSION_REFRESH_EACH_REQUEST is off), so an idle session may end
# up to this much before its limit, never after.
SEEN_COOKIE_EVERY = 15
# How long a password-accepted sign-in waits for its code before starting over.
CODE_STEP_SECONDS = 300


def passive(view):
    """Mark a view as background polling (e.g. a board refreshing itself): it does not count
    as activity, so it cannot keep an idle session alive."""
    view.passive_request = True
    return view


@login_manager.user_loader
def load_user(session_user_id: str) -> User | None:
    """The signed-in user, if their account is active and this session was not ended."""
    try:
        user_id, version = (int(part) for part in session_user_id.split(":"))
    except (AttributeError, ValueError):
        return None
    token = session.get("sid")
    if not token:
        user = db.session.get(User, user_id)
    else:
        # The user, this browser's session row and the user's second factor in one statement
        # (all are read on every request): `current_session_row` then answers from what was
        # read, and `mfa.factor_of` from the session's identity map.
        digest = _digest(str(token))
        found = db.session.execute(
            _signed_in_statement(), {"user_id": user_id, "digest": digest}
        ).first()
        user = found[0] if found else None
        if found:
            g.session_row = (user_id, digest, found[1])
            g.second_factor = found[2]  # held: the identity map keeps only what is referenced
    if user is None or not user.active or user.session_version != version:
        return None
    return user


@cache
def _signed_in_statement() -> sa.Select:
    """The user, this browser's session row and the user's second factor, built once (a page
    view otherwise spends its first tenth of a millisecond putting the same query together)."""
    return (
        sa.select(User, SignedInSession, SecondFactor)
        .outerjoin(
            SignedInSession,
            sa.and_(
                SignedInSession.user_id == User.id,
                SignedInSession.token_hash == sa.bindparam("digest"),
                SignedInSession.ended_at.is_(None),
            ),
        )
        .outerjoin(SecondFactor, SecondFactor.user_id == User.id)
        .where(User.id == sa.bindparam("user_id"))
    )


def start_session(user: User) -> None:
    """A fresh session for a user who just proved who they are."""

    session.clear()  # nothing from before sign-in survives, CSRF token included
    session.permanent = True
    login_user(user)
    now = int(time.time())
    session["auth_at"] = now
    session["seen_at"] = now
    session["sid"] = _register(user)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _register(user: User) -> str:
    """A row for the sessions list; the cookie carries its random token, the table its hash."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        SignedInSession(
            user_id=user.id,
            token_hash=_digest(token),
            user_agent=(request.user_agent.string or "")[:200] or None,
            remote_addr=audit.current_address(),
        )
    )
    db.session.flush()
    return token


def current_session_row() -> SignedInSession | None:
    """This browser's row in the sessions list (None once ended)."""
    token = session.get("sid")
    if not token or not current_user.is_authenticated:
        return None
    read = g.get("session_row")
    if read is not None and read[:2] == (current_user.id, _digest(str(token))):
        row = read[2]
        return row if row is not None and row.ended_at is None else None
    return db.session.scalar(
        sa.select(SignedInSession).where(
            SignedInSession.token_hash == _digest(str(token)),
            SignedInSession.user_id == current_user.id,
            SignedInSession.ended_at.is_(None),
        )
    )


def open_sessions(user: User) -> list[SignedInSession]:
    """The user's sessions that have not ended or timed out, most recently used first."""
    since = utcnow() - timedelta(hours=int(current_app.config["SESSION_ABSOLUTE_HOURS"]))
    return list(
        db.session.scalars(
            sa.select(SignedInSession)
            .where(
                SignedInSession.user_id == user.id,
                SignedInSession.ended_at.is_(None),
                SignedInSession.created_at >= since,
            )
            .order_by(SignedInSession.last_seen_at.desc(), SignedInSession.id.desc())
        )
    )


def begin_code_step(user: User) -> None:
    """Password accepted, code pending: the session names the user but signs no one in."""
    session.clear()
    session["pending_user"] = user.get_id()
    session["pending_at"] = int(time.time())
    session["pending_failures"] = 0


def pending_user() -> User | None:
    """The user whose code is awaited, while the wait has not run out."""
    started = session.get("pending_at")
    if not started or int(time.time()) - int(started) > CODE_STEP_SECONDS:
        return None
    return load_user(str(session.get("pending_user", "")))


def idle_limit_seconds(user: User) -> int:
    key = "PATIENT_IDLE_MINUTES" if user.role is Role.PATIENT else "STAFF_IDLE_MINUTES"
    return int(current_app.config[key]) * 60


def _enforce_time_limits():
    if (
        request.endpoint in (None, "static", "bootstrap.static")
        or not current_user.is_authenticated
    ):
        return None
    now = int(time.time())
    absolute = int(current_app.config["SESSION_ABSOLUTE_HOURS"]) * 3600
    auth_at, seen_at = session.get("auth_at"), session.get("seen_at")
    expired = (
        auth_at is None
        or seen_at is None
        or now - auth_at > absolute
        or now - seen_at > idle_limit_seconds(current_user)
    )
    if expired:
        logout_user()
        session.clear()
        flash("Your session ended after a period without activity. Please sign in again.", "info")
        if request.method == "GET" and not _is_passive():
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return redirect(url_for("auth.login"))
    row = current_session_row()
    if row is None:  # ended from the sessions list (or a session from before the list)
        logout_user()
        session.clear()
        flash("This session was ended. Please sign in again.", "info")
        return redirect(url_for("auth.login"))
    if not _is_passive():
        if now - seen_at >= SEEN_COOKIE_EVERY:
            session["seen_at"] = now
        if (utcnow() - row.last_seen_at).total_seconds() > SEEN_EVERY:
            row.last_seen_at = utcnow()
    return _enrolment_gate()


# Views an account that must enrol in two-step sign-in may still reach before it has.
ENROLMENT_ENDPOINTS = frozenset(
    {"auth.two_step", "auth.two_step_start", "auth.two_step_setup", "auth.logout"}
)


def _enrolment_gate():
    """Admins and providers (all staff when configured) reach nothing but enrolment until
    they have set up two-step sign-in."""

    if request.endpoint in ENROLMENT_ENDPOINTS or request.blueprint == "health":
        return None
    if not mfa.required(current_user) or mfa.is_enrolled(current_user):
        return None
    if request.method == "GET":
        flash("Set up two-step sign-in to continue.", "info")
    return redirect(url_for("auth.two_step"))


def _is_passive() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "passive_request", False))


def home_endpoint(user: User) -> str:
    """Where each role lands after signing in."""
    return {
        Role.ADMIN: "admin.users",
        Role.FRONT_DESK: "main.front_desk",
        Role.PROVIDER: "main.clinical",
        Role.CLINICAL_STAFF: "main.clinical",
        Role.PATIENT: "main.patient_home",
    }[user.role]


def register_session_rules(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    app.before_request(_enforce_time_limits)
