"""One's own account security: two-step sign-in set-up, new recovery codes and the signed-in
sessions list."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required, logout_user

from clinic.auth import bp, mfa, services
from clinic.auth.forms import (
    EnrolForm,
    RenewRecoveryCodesForm,
    SignOutEverywhereForm,
    StartEnrolForm,
)
from clinic.auth.sessions import current_session_row, open_sessions
from clinic.errors import Refused, show_beside
from clinic.extensions import limiter
from clinic.models import audit
from clinic.models.base import utcnow
from clinic.policy import ensure
from clinic.transaction import attempt

# Wrong confirmations of a new set of recovery codes, in one signed-in session, before that
# session ends (as five wrong codes start a sign-in over).
RENEW_TRIES = 5


def _staff_only() -> None:
    ensure(current_user.is_staff, "Two-step sign-in is for staff accounts.")


def _two_step_page(renew_form: RenewRecoveryCodesForm | None = None) -> str:
    enrolled = mfa.is_enrolled(current_user)
    return render_template(
        "auth/two_step.html",
        enrolled=enrolled,
        required=mfa.required(current_user),
        codes_left=mfa.recovery_codes_left(current_user) if enrolled else 0,
        codes_low=mfa.RECOVERY_CODES_LOW,
        start_form=StartEnrolForm(),
        renew_form=renew_form or RenewRecoveryCodesForm(formdata=None),
    )


@bp.route("/account/two-step")
@login_required
def two_step():
    """Whether two-step sign-in is on, the way to set it up, and new recovery codes."""
    _staff_only()
    return _two_step_page()


def _own_account_key() -> str:
    return f"recovery-codes:{getattr(current_user, 'id', '')}"


def _refused(response) -> bool:
    return response.status_code == 422


def _since_sign_in_in_window() -> datetime:
    """Failures count from this sign-in, and within the sign-in slowdown's window at most."""
    window = utcnow() - timedelta(minutes=current_app.config["LOGIN_SLOWDOWN_WINDOW_MINUTES"])
    row = current_session_row()
    return max(window, row.created_at) if row is not None else window


@bp.route("/account/two-step/recovery-codes", methods=["POST"])
@login_required
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT_ADDRESS"],
    key_func=_own_account_key,
    methods=["POST"],
    deduct_when=_refused,
    scope="recovery-codes",
)
def renew_recovery_codes():
    """A new set of recovery codes, shown once, after the password and a current code."""
    _staff_only()
    if not mfa.is_enrolled(current_user):
        flash("Two-step sign-in is not on for your account, so it has no recovery codes.", "info")
        return redirect(url_for("auth.two_step"))
    # the user itself, not the proxy: a refusal's audit row is written after a sign-out
    user = current_user._get_current_object()
    form = RenewRecoveryCodesForm()
    if form.validate_on_submit():
        try:
            with attempt():
                codes = services.renew_recovery_codes(user, form.password.data, form.code.data)
        except Refused as err:
            earlier = services.failed_confirmations(
                user, services.RENEW_CODES_ACTION, _since_sign_in_in_window()
            )
            if earlier + 1 >= RENEW_TRIES:  # this refusal's audit row is written after the view
                return _too_many_renewal_tries(user)
            show_beside(form, err, "code")
        else:
            return render_template("auth/recovery_codes.html", codes=codes, renewed=True)
    return _two_step_page(form), 422


def _too_many_renewal_tries(user):
    """Too many wrong confirmations: this account's sessions end; signing in asks for a code."""
    services.end_sessions_after_failed_checks(user, services.RENEW_CODES_ACTION)
    logout_user()
    flash("Too many wrong codes or passwords. Please sign in again.", "danger")
    return redirect(url_for("auth.login"))


@bp.route("/account/two-step/start", methods=["POST"])
@login_required
def two_step_start():
    _staff_only()
    if not StartEnrolForm().validate_on_submit():
        abort(400)
    try:
        with attempt():
            mfa.begin_enrolment(current_user)
    except Refused as err:
        flash(str(err), "info")
        return redirect(url_for("auth.two_step"))
    return redirect(url_for("auth.two_step_setup"))


@bp.route("/account/two-step/setup", methods=["GET", "POST"])
@login_required
def two_step_setup():
    """The QR code and the secret as text, confirmed by a first code; then the recovery codes."""
    _staff_only()
    factor = mfa.factor_of(current_user)
    if factor is None or factor.confirmed_at is not None:
        return redirect(url_for("auth.two_step"))
    form = EnrolForm()
    status = 422 if form.is_submitted() else 200
    if form.validate_on_submit():
        try:
            with attempt():
                codes = mfa.confirm_enrolment(current_user, form.code.data)
        except Refused as err:
            show_beside(form, err, "code")
        else:
            return render_template("auth/recovery_codes.html", codes=codes)
    secret = mfa.secret_of(factor)
    uri = mfa.provisioning_uri(current_user, secret)
    return render_template(
        "auth/two_step_setup.html",
        form=form,
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        qr_svg=mfa.qr_svg(uri),
    ), status


@bp.route("/account/sessions")
@login_required
def sessions():
    """Where this account is signed in, with a way to end them all."""

    audit.record("account.sessions_viewed", actor=current_user, obj=current_user)
    return render_template(
        "auth/sessions.html",
        rows=open_sessions(current_user),
        current=current_session_row(),
        form=SignOutEverywhereForm(),
    )


@bp.route("/account/sessions/end-all", methods=["POST"])
@login_required
def sign_out_everywhere():
    if not SignOutEverywhereForm().validate_on_submit():
        abort(400)
    services.sign_out_everywhere(current_user)
    logout_user()
    flash("You are signed out everywhere, including this browser.", "success")
    return redirect(url_for("auth.login"))
