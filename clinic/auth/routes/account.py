"""One's own account security: two-step sign-in set-up and the signed-in sessions list."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required, logout_user

from clinic.auth import bp, mfa, services
from clinic.auth.forms import EnrolForm, SignOutEverywhereForm, StartEnrolForm
from clinic.auth.sessions import current_session_row, open_sessions
from clinic.errors import Refused, show_beside
from clinic.models import audit
from clinic.policy import ensure
from clinic.transaction import attempt


def _staff_only() -> None:
    ensure(current_user.is_staff, "Two-step sign-in is for staff accounts.")


@bp.route("/account/two-step")
@login_required
def two_step():
    """Whether two-step sign-in is on, and the way to set it up."""
    _staff_only()
    enrolled = mfa.is_enrolled(current_user)
    return render_template(
        "auth/two_step.html",
        enrolled=enrolled,
        required=mfa.required(current_user),
        codes_left=mfa.recovery_codes_left(current_user) if enrolled else 0,
        start_form=StartEnrolForm(),
    )


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
