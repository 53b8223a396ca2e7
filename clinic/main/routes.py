"""Role home pages and /healthz."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, jsonify, redirect, render_template, url_for
from flask_login import current_user, login_required

from clinic.auth import mfa
from clinic.auth.models import Role
from clinic.auth.sessions import home_endpoint
from clinic.extensions import csrf, db
from clinic.instructions.services import instructions_for
from clinic.journeys.routes.worklist import render_worklist
from clinic.main import bp
from clinic.models import audit
from clinic.outcomes import services as outcomes
from clinic.policy import CLINICAL, require_roles
from clinic.portal.home import PREPARE, upcoming_visits
from clinic.scheduling.queries import day_summary
from clinic.scheduling.recalls import WRITTEN, count_due
from clinic.timeutil import clinic_today


@bp.route("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for(home_endpoint(current_user)))


@bp.route("/front-desk")
@require_roles(Role.FRONT_DESK, Role.ADMIN)
def front_desk():

    audit.record_read("front_desk.viewed", current_user, [])  # counts only, no patient shown
    today = clinic_today()
    # the day's figures and what the kept recall count depends on, read together
    summary, written = day_summary(today, *WRITTEN)
    return render_template(
        "main/front_desk.html", today=today, summary=summary, recalls=count_due(today, written)
    )


@bp.route("/clinical")
@require_roles(*CLINICAL)
def clinical():
    """The clinical team's home is the journeys worklist."""

    return render_worklist()


@bp.route("/my")
@require_roles(Role.PATIENT)
def patient_home():

    patient = current_user.patient
    audit.record("portal.home_viewed", actor=current_user, obj=patient, patient_id=patient.id)

    instructions = instructions_for(patient, clinic_today())
    due = outcomes.due_now(outcomes.response_lines(patient, open_only=True), clinic_today())
    return render_template(
        "main/patient_home.html",
        patient=patient,
        due=due,
        instrument_of=outcomes.instrument_of,
        visits=upcoming_visits(patient),
        prepare=PREPARE,
        phase=instructions.phase,
        current_text=instructions.shown,
    )


@bp.route("/account")
@login_required
def account():
    audit.record("account.viewed", actor=current_user, obj=current_user)
    enrolled = current_user.is_staff and mfa.is_enrolled(current_user)
    return render_template(
        "main/account.html",
        codes_left=mfa.recovery_codes_left(current_user) if enrolled else None,
        codes_low=mfa.RECOVERY_CODES_LOW,
    )


@bp.route("/healthz")
@csrf.exempt
def healthz():
    """Liveness and database reachability, for load balancers and monitors."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        current_app.logger.exception("health check: database unreachable")
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
