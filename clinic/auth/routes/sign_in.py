"""Sign-in, sign-out and changing one's own password."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user

from clinic.auth import bp, mfa, services, throttle
from clinic.auth.forms import ChangePasswordForm, CodeForm, LoginForm
from clinic.auth.sessions import begin_code_step, home_endpoint, pending_user, start_session
from clinic.errors import Refused, show_beside
from clinic.extensions import limiter
from clinic.models import audit
from clinic.transaction import attempt, keep_after_rollback


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or any(ord(c) < 32 for c in target):
        return None
    return target


def _account_address_key() -> str:
    email = services.normalise_email(request.form.get("email", ""))
    return f"login-account-address:{email}|{request.remote_addr}"


def _login_failed(response) -> bool:
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
    methods=["POST"],
    deduct_when=_login_failed,
    scope="login-address",
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT_ADDRESS"],
    key_func=_account_address_key,
    methods=["POST"],
    deduct_when=_login_failed,
    scope="login-account-address",
)
def login():
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user)))
    form = LoginForm()
    if form.validate_on_submit():
        email = services.normalise_email(form.email.data)
        wait = throttle.seconds_to_wait(
            email, services.find_user_by_email(email), audit.current_address()
        )
        if wait:
            return _slowed(wait)
        user = services.authenticate(form.email.data, form.password.data)
        if user is not None and mfa.is_enrolled(user):
            begin_code_step(user)
            return redirect(url_for("auth.login_code", next=safe_next(request.args.get("next"))))
        if user is not None:
            start_session(user)
            return redirect(safe_next(request.args.get("next")) or url_for(home_endpoint(user)))
        throttle.note_failure(email)
        form.password.errors.append("The e-mail or password is not correct.")
    return render_template("auth/login.html", form=form)


# Wrong codes allowed in one password-accepted sign-in before it starts over.
CODE_TRIES = 5


def _pending_key() -> str:
    return f"login-code:{session.get('pending_user', '')}"


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT_ADDRESS"],
    key_func=_pending_key,
    methods=["POST"],
    deduct_when=_login_failed,
    scope="login-code",
)
def login_code():
    """The second step of sign-in: the password was right, the code is awaited."""
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user)))
    user = pending_user()
    if user is None:
        session.clear()
        flash("Please sign in again.", "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        if services.complete_code_step(user, form.code.data):
            start_session(user)
            return redirect(safe_next(request.args.get("next")) or url_for(home_endpoint(user)))
        session["pending_failures"] = int(session.get("pending_failures", 0)) + 1
        throttle.note_failure(user.email)
        if session["pending_failures"] >= CODE_TRIES:
            session.clear()
            flash("Too many wrong codes. Please sign in again.", "danger")
            return redirect(url_for("auth.login"))
        form.code.errors.append("That code is not right, or it was already used.")
    status = 422 if form.is_submitted() else 200
    return render_template("auth/login_code.html", form=form), status


def _slowed(wait: int):
    """429: this account had many failed sign-ins; this address must wait before trying."""
    keep_after_rollback(action="auth.throttled", detail=f"account slowed: {wait} s")
    page = render_template(
        "errors/error.html",
        code=429,
        title="Too many attempts",
        message=f"This account had many failed sign-ins. Wait {wait} seconds, then try again.",
    )
    return page, 429, {"Retry-After": str(wait)}


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    services.sign_out(current_user)
    logout_user()
    flash("You have signed out.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            with attempt():
                services.change_password(
                    current_user,
                    form.current_password.data,
                    form.new_password.data,
                    form.code.data,
                )
        except Refused as err:
            show_beside(form, err)  # the refused attempt's audit row is kept
        else:
            logout_user()
            flash("Your password was changed. Please sign in with the new one.", "success")
            return redirect(url_for("auth.login"))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "auth/change_password.html", form=form, enrolled=mfa.is_enrolled(current_user)
    ), status
