"""Break-glass access to a patient outside one's care team, and changing a journey's team."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from clinic import transaction
from clinic.auth.models import Role, User
from clinic.auth.reauth import confirm_identity
from clinic.auth.routes.sign_in import safe_next
from clinic.careteam import bp
from clinic.careteam import services as team
from clinic.careteam.forms import AddMemberForm, BreakGlassForm, ProviderForm
from clinic.careteam.models import JourneyMember
from clinic.dates import fmt_datetime
from clinic.errors import Refused, StaleWrite, show_beside
from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.services.queries import active_providers
from clinic.models import audit
from clinic.patients.models import Patient
from clinic.policy import (
    ADMIN_ONLY,
    CLINICAL,
    OutsideCareTeam,
    can_break_glass,
    can_change_team,
    ensure,
    require_roles,
    restrict_blueprint,
)
from clinic.transaction import attempt, keep_after_rollback

restrict_blueprint(bp, {Role.ADMIN, Role.PROVIDER, Role.CLINICAL_STAFF})


def _chart_url(patient_id: int) -> str:
    return url_for("journeys.chart", patient_id=patient_id)


def _break_glass_page(patient: Patient, form: BreakGlassForm, status: int):
    return render_template(
        "careteam/break_glass.html",
        patient=patient,
        form=form,
        hours=current_app.config["BREAK_GLASS_HOURS"],
    ), status


@bp.record_once
def _register_offer(state) -> None:
    state.app.register_error_handler(OutsideCareTeam, _outside_care_team)


def _outside_care_team(error: OutsideCareTeam):
    """403: the patient is outside the clinician's care team; offer break-glass."""
    patient_id = error.patient.id
    keep_after_rollback(
        action="access.outside_care_team",
        actor=current_user,
        object_type="patient",
        object_id=patient_id,
        patient_id=patient_id,
        detail=f"{request.method} {request.path}",
    )
    transaction.rollback()
    patient = db.get_or_404(Patient, patient_id)
    form = BreakGlassForm(formdata=None)
    form.next.data = _return_to(error) or ""
    return _break_glass_page(patient, form, 403)


def _return_to(error: OutsideCareTeam) -> str | None:
    """Where a grant leads: the page asked for; for a form sent (a POST), the page the form
    belongs to (the form is not sent again: the clinician sees the record, then acts)."""
    if request.method in ("GET", "HEAD"):
        return request.full_path.rstrip("?")
    if error.back:
        return error.back
    rule = request.url_rule
    if rule is not None and "GET" in (rule.methods or ()):
        return request.full_path.rstrip("?")  # the same address shows the form's page
    return None


@bp.route("/patients/<int:patient_id>/break-glass", methods=["GET", "POST"])
@require_roles(*CLINICAL)
def break_glass(patient_id: int):
    patient = db.get_or_404(Patient, patient_id)
    ensure(can_break_glass(current_user))
    form = BreakGlassForm()
    if not form.validate_on_submit():
        return _break_glass_page(patient, form, 422 if form.is_submitted() else 200)
    try:
        with attempt():
            confirm_identity(current_user, form.password.data, form.code.data, "break-glass")
            grant = team.grant_break_glass(
                current_user,
                patient,
                form.reason.data,
                form.explanation.data,
                current_app.config["BREAK_GLASS_HOURS"],
            )
    except Refused as err:
        show_beside(form, err, "explanation")
        return _break_glass_page(patient, form, 422)
    flash(
        f"Emergency access open until {fmt_datetime(grant.expires_at)}; this use will be reviewed.",
        "warning",
    )
    return redirect(safe_next(form.next.data) or _chart_url(patient.id))


# --- assignments ---------------------------------------------------------------------------


def _journey_for_team(journey_id: int) -> m.Journey:
    journey = db.get_or_404(m.Journey, journey_id)
    ensure(
        can_change_team(current_user, journey),
        "Assignments are changed by an administrator or the journey's responsible provider.",
    )
    return journey


def _team_page(journey: m.Journey, add_form=None, provider_form=None, status: int = 200):
    add_form = add_form or AddMemberForm(formdata=None)
    add_form.user_id.choices = [
        (u.id, f"{u.full_name} ({u.role.label})") for u in team.assignable_users(journey)
    ]
    provider_form = provider_form or ProviderForm(
        formdata=None, provider_id=journey.provider_id, shown=str(journey.provider_id)
    )
    provider_form.provider_id.choices = [(u.id, u.full_name) for u in active_providers()]
    return render_template(
        "careteam/team.html",
        journey=journey,
        team=team.team_of(journey),
        add_form=add_form,
        provider_form=provider_form,
        remove_form=AddMemberForm(formdata=None),
        may_change_provider=current_user.role is Role.ADMIN,
    ), status


@bp.route("/journeys")
@require_roles(*ADMIN_ONLY)
def journeys():
    listed = team.open_journeys_with_teams()
    audit.record(
        "care_team.list_viewed",
        actor=current_user,
        detail=_patients_detail({j.patient_id for j in listed}),
    )
    return render_template("careteam/journeys.html", journeys=listed)


def _patients_detail(patient_ids: set[int]) -> str:
    return "patients: " + ",".join(str(i) for i in sorted(patient_ids))


@bp.route("/journeys/<int:journey_id>")
@require_roles(Role.ADMIN, Role.PROVIDER)
def journey_team(journey_id: int):
    journey = _journey_for_team(journey_id)
    audit.record("care_team.viewed", actor=current_user, obj=journey, patient_id=journey.patient_id)
    return _team_page(journey)


@bp.route("/journeys/<int:journey_id>/members", methods=["POST"])
@require_roles(Role.ADMIN, Role.PROVIDER)
def add_member(journey_id: int):
    journey = _journey_for_team(journey_id)
    form = AddMemberForm()
    form.user_id.choices = [(u.id, u.full_name) for u in team.assignable_users(journey)]
    if form.validate_on_submit():
        try:
            with attempt():
                member = team.add_member(
                    journey, db.session.get(User, form.user_id.data), current_user
                )
        except Refused as err:
            show_beside(form, err, "user_id")
            return _team_page(journey, add_form=form, status=err.status)
        flash(f"{member.user.full_name} added to the care team.", "success")
        return redirect(url_for("careteam.journey_team", journey_id=journey.id))
    return _team_page(journey, add_form=form, status=422)


@bp.route("/journeys/<int:journey_id>/members/<int:member_id>/remove", methods=["POST"])
@require_roles(Role.ADMIN, Role.PROVIDER)
def remove_member(journey_id: int, member_id: int):
    journey = _journey_for_team(journey_id)
    member = db.get_or_404(JourneyMember, member_id)
    if member.journey_id != journey.id:
        abort(404)
    name = member.user.full_name
    with attempt():
        team.remove_member(journey, member, current_user)
    flash(f"{name} taken off the care team.", "success")
    return redirect(url_for("careteam.journey_team", journey_id=journey.id))


@bp.route("/journeys/<int:journey_id>/provider", methods=["POST"])
@require_roles(*ADMIN_ONLY)
def change_provider(journey_id: int):
    journey = _journey_for_team(journey_id)
    form = ProviderForm()
    form.provider_id.choices = [(u.id, u.full_name) for u in active_providers()]
    if form.validate_on_submit():
        try:
            with attempt():
                team.change_responsible_provider(
                    journey,
                    db.session.get(User, form.provider_id.data),
                    current_user,
                    form.shown.data,
                )
        except StaleWrite as err:  # 409: who it is now beside the choice; choosing again works
            db.session.refresh(journey)
            form.shown.data = str(journey.provider_id)
            show_beside(form, err, "provider_id")
            return _team_page(journey, provider_form=form, status=409)
        except Refused as err:
            show_beside(form, err, "provider_id")
            return _team_page(journey, provider_form=form, status=422)
        flash("Responsible provider changed.", "success")
        return redirect(url_for("careteam.journey_team", journey_id=journey.id))
    return _team_page(journey, provider_form=form, status=422)
