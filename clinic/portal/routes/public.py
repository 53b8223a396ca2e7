"""Pages reached from an e-mailed link or before signing in (set a password, forgot password),
and the patient's own journey in plain words."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, logout_user

from clinic.auth.models import Role
from clinic.auth.services import normalise_email
from clinic.auth.sessions import home_endpoint, start_session
from clinic.errors import Refused
from clinic.extensions import limiter
from clinic.mail import send
from clinic.models import audit
from clinic.policy import require_roles
from clinic.portal import bp, services
from clinic.portal.forms import ForgotPasswordForm, SetPasswordForm
from clinic.portal.journey_view import journeys_for
from clinic.timeutil import clinic_today
from clinic.transaction import attempt


def _public_limit() -> str:
    return current_app.config["PORTAL_LINK_LIMIT_PER_ADDRESS"]


def _email_key() -> str:
    return "portal-forgot:" + normalise_email(request.form.get("email", ""))


@bp.route("/portal/link/<token>", methods=["GET", "POST"])
@limiter.limit(_public_limit, methods=["POST"], scope="portal-redeem")
def redeem(token: str):
    link = services.find_usable_link(token)
    if link is None:
        return render_template("portal/link_unusable.html"), 410
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            with attempt():
                account = services.redeem(token, form.new_password.data)
        except Refused as err:
            if err.field is None:
                return render_template("portal/link_unusable.html"), 410
            form.new_password.errors.append(str(err))
        else:
            if current_user.is_authenticated:
                logout_user()
            # The link proved the e-mail address and the password was just chosen: the patient
            # is signed in straight away (patients never have a second step).
            audit.record("auth.login", actor=account, obj=account, detail="password set by link")
            start_session(account)
            flash(
                f"Your password is set and you are signed in. Next time, sign in with "
                f"{account.email} and this password.",
                "success",
            )
            return redirect(url_for(home_endpoint(account)))
    status = 422 if form.is_submitted() else 200
    return render_template("portal/set_password.html", form=form, link=link), status


@bp.route("/my/journey")
@require_roles(Role.PATIENT)
def my_journey():

    patient = current_user.patient
    audit.record("portal.journey_viewed", actor=current_user, patient_id=patient.id)
    return render_template("portal/my_journey.html", journeys=journeys_for(patient, clinic_today()))


@bp.route("/portal/forgot", methods=["GET", "POST"])
@limiter.limit(_public_limit, methods=["POST"], scope="portal-forgot-address")
@limiter.limit(
    lambda: current_app.config["PORTAL_LINK_LIMIT"],
    key_func=_email_key,
    methods=["POST"],
    scope="portal-forgot-email",
)
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        message = services.request_reset(form.email.data)
        if message is not None:
            send(message)
        flash(
            "If a patient portal account uses that e-mail, a link to set a new password is "
            "on its way. It works once, for a short time.",
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("portal/forgot.html", form=form), (422 if form.is_submitted() else 200)
