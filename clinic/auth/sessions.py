"""Session rules: the user loader, idle and absolute time limits, and where each role lands."""

from __future__ import annotations

import time

from flask import Flask, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from clinic.auth.models import Role, User
from clinic.extensions import db, login_manager


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
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.session_version != version:
        return None
    return user


def start_session(user: User) -> None:
    """A fresh session for a user who just proved who they are."""

    session.clear()  # nothing from before sign-in survives, CSRF token included
    session.permanent = True
    login_user(user)
    now = int(time.time())
    session["auth_at"] = now
    session["seen_at"] = now


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
    if not _is_passive():
        session["seen_at"] = now
    return None


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
