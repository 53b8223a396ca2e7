"""Front desk and admin: portal invitations, reset links, revoking access, the local outbox."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.admin.forms import ConfirmForm
from clinic.auth.models import Role
from clinic.errors import Refused, show_beside
from clinic.extensions import db, limiter
from clinic.inputs import query_int
from clinic.mail import OutboxMessage, link_parts, outbox_enabled, queued_notice, send
from clinic.models import audit
from clinic.models.base import utcnow
from clinic.patients.models import Patient
from clinic.policy import can_view_patient_demographics, ensure, require_roles
from clinic.portal import bp, services
from clinic.portal.forms import InviteForm
from clinic.reads import patients_addressed
from clinic.transaction import attempt

ACCESS_ROLES = (Role.FRONT_DESK, Role.ADMIN)


def _patient(patient_id: int) -> Patient:
    patient = db.get_or_404(Patient, patient_id)
    ensure(can_view_patient_demographics(current_user, patient))
    return patient


def _render(patient: Patient, invite_form: InviteForm | None = None, status: int = 200):
    account = services.portal_account(patient)
    if invite_form is None:
        invite_form = InviteForm(email=account.email if account else patient.email)
    return render_template(
        "portal/access.html",
        patient=patient,
        account=account,
        links=services.links_for(patient),
        now=utcnow(),
        invite_form=invite_form,
        action_form=ConfirmForm(),
        outbox=outbox_enabled(),
    ), status


def _send_limit() -> str:
    return current_app.config["PORTAL_LINK_LIMIT"]


def _patient_key() -> str:

    return "portal-send:" + str(request.view_args.get("patient_id"))


@bp.route("/portal-access/<int:patient_id>")
@require_roles(*ACCESS_ROLES)
def access(patient_id: int):
    patient = _patient(patient_id)
    audit.record("portal.access_viewed", actor=current_user, obj=patient, patient_id=patient.id)
    return _render(patient)


@bp.route("/portal-access/<int:patient_id>/invite", methods=["POST"])
@require_roles(*ACCESS_ROLES)
@limiter.limit(_send_limit, key_func=_patient_key, scope="portal-send")
def invite(patient_id: int):
    patient = _patient(patient_id)
    form = InviteForm()
    if not form.validate_on_submit():
        return _render(patient, form, 422)
    try:
        with attempt():
            message = services.send_invite(patient, form.email.data, by=current_user)
    except Refused as err:
        show_beside(form, err)
        return _render(patient, form, err.status)
    send(message)
    flash(queued_notice("The invitation", message.to), "success")
    return redirect(url_for("portal.access", patient_id=patient.id))


@bp.route("/portal-access/<int:patient_id>/reset", methods=["POST"])
@require_roles(*ACCESS_ROLES)
@limiter.limit(_send_limit, key_func=_patient_key, scope="portal-send")
def send_reset(patient_id: int):
    patient = _patient(patient_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        with attempt():
            message = services.send_reset(patient, by=current_user)
    except Refused as err:
        flash(str(err), "warning")
        return redirect(url_for("portal.access", patient_id=patient.id))
    send(message)
    flash(queued_notice("The password-reset link", message.to), "success")
    return redirect(url_for("portal.access", patient_id=patient.id))


@bp.route("/portal-access/<int:patient_id>/revoke", methods=["POST"])
@require_roles(*ACCESS_ROLES)
def revoke(patient_id: int):
    patient = _patient(patient_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        with attempt():
            services.revoke_access(patient, by=current_user)
    except Refused as err:
        flash(str(err), "warning")
    else:
        flash(
            "Portal access revoked: open links stop working and the patient is signed out.",
            "success",
        )
    return redirect(url_for("portal.access", patient_id=patient.id))


@bp.route("/outbox")
@require_roles(*ACCESS_ROLES)
def outbox():
    if not outbox_enabled():
        abort(404)
    messages = db.paginate(
        sa.select(OutboxMessage).order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()),
        page=query_int("page", 1),
        per_page=25,
        error_out=False,
    )
    shown = patients_addressed(m.recipient for m in messages.items)
    audit.record_read("outbox.viewed", current_user, shown)
    return render_template("portal/outbox.html", page=messages)


@bp.route("/outbox/<int:message_id>")
@require_roles(*ACCESS_ROLES)
def outbox_message(message_id: int):
    if not outbox_enabled():
        abort(404)
    message = db.get_or_404(OutboxMessage, message_id)
    shown = patients_addressed([message.recipient])
    audit.record_read("outbox.message_viewed", current_user, shown, obj=message)
    return render_template(
        "portal/outbox_message.html",
        message=message,
        body=services.masked_links(message.body),
        parts=link_parts(services.masked_links(message.body)),
    )
