"""Staff: a patient's messages and consent, what goes out on a day, the front desk's list of
patients' cancellations and reschedule requests, and the care team's inbox."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.admin.forms import ConfirmForm
from clinic.auth.models import Role, User
from clinic.errors import Refused, show_beside
from clinic.extensions import db
from clinic.inputs import query_day
from clinic.messaging import bp, inbox, links, services
from clinic.messaging.forms import AssignForm, PreferenceForm, ReplyForm
from clinic.messaging.models import PatientMessage, PatientReply, SendStatus, Thread
from clinic.models import audit
from clinic.patients.models import Patient
from clinic.policy import ensure, require_roles
from clinic.submissions import once
from clinic.timeutil import clinic_day_bounds, clinic_today
from clinic.transaction import attempt

INBOX_ROLES = (Role.FRONT_DESK, Role.PROVIDER, Role.CLINICAL_STAFF)


@bp.route("/messages/patients/<int:patient_id>")
@require_roles(Role.ADMIN, Role.FRONT_DESK, Role.PROVIDER, Role.CLINICAL_STAFF)
def patient_messages(patient_id: int):
    patient = db.get_or_404(Patient, patient_id)
    sent = db.session.scalars(
        sa.select(PatientMessage)
        .where(PatientMessage.patient_id == patient.id)
        .order_by(PatientMessage.due_at.desc(), PatientMessage.id.desc())
        .limit(200)
    ).all()
    threads = [t for t in inbox.threads_of(patient) if inbox.can_see(current_user, t)]
    preference = services.preference_for(patient)
    consent = services.consent_of(patient, preference)
    form = PreferenceForm(
        data={
            "email_ok": consent.email_ok,
            "sms_ok": consent.sms_ok,
            "sms_detail_ok": consent.sms_detail_ok,
        }
    )
    channel, why = services.choose_channel(patient, consent)
    audit.record("messages.patient_viewed", actor=current_user, obj=patient, patient_id=patient.id)
    return render_template(
        "messaging/patient.html",
        patient=patient,
        sent=sent,
        threads=threads,
        consent=consent,
        channel=channel,
        why=why,
        # said once: the reason above says it already when nothing can go
        texts_off=services.texts_off() and why != services.TEXTS_OFF,
        form=form,
        may_edit=current_user.role in (Role.FRONT_DESK, Role.ADMIN),
    )


@bp.route("/messages/patients/<int:patient_id>/consent", methods=["POST"])
@require_roles(Role.ADMIN, Role.FRONT_DESK)
def set_consent(patient_id: int):
    patient = db.get_or_404(Patient, patient_id)
    form = PreferenceForm()
    if not form.validate_on_submit():
        abort(400)
    with attempt():
        services.set_preference(
            patient,
            email_ok=form.email_ok.data,
            sms_ok=form.sms_ok.data,
            sms_detail_ok=form.sms_detail_ok.data,
            by=current_user,
        )
    flash("Consent to messages saved.", "success")
    return redirect(url_for("messaging.patient_messages", patient_id=patient.id))


@bp.route("/messages/upcoming")
@require_roles(Role.ADMIN, Role.FRONT_DESK)
def upcoming():
    """What will go out on a day (tomorrow unless ?date= says otherwise)."""
    day = query_day("date", clinic_today() + timedelta(days=1)) or clinic_today()
    start, end = clinic_day_bounds(day)
    rows = db.session.scalars(
        sa.select(PatientMessage)
        .where(
            PatientMessage.status == SendStatus.PLANNED,
            PatientMessage.due_at >= start,
            PatientMessage.due_at < end,
        )
        .order_by(PatientMessage.due_at, PatientMessage.id)
        .limit(1000)
    ).all()
    paused = services.settings().paused
    audit.record_read("messages.upcoming_viewed", current_user, {m.patient_id for m in rows})
    return render_template(
        "messaging/upcoming.html",
        rows=rows,
        day=day,
        paused=paused,
        previous=day - timedelta(days=1),
        following=day + timedelta(days=1),
    )


@bp.route("/messages/requests")
@require_roles(Role.ADMIN, Role.FRONT_DESK)
def requests():
    rows = links.open_requests()
    audit.record_read(
        "messages.requests_viewed", current_user, {r.appointment.patient_id for r in rows}
    )
    return render_template("messaging/requests.html", rows=rows, form=ConfirmForm())


@bp.route("/messages/requests/<int:appointment_id>/handled", methods=["POST"])
@require_roles(Role.ADMIN, Role.FRONT_DESK)
def request_handled(appointment_id: int):
    row = db.get_or_404(PatientReply, appointment_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        with attempt():
            links.mark_handled(row, current_user)
    except Refused as err:
        flash(err.message, "info")
    else:
        flash("Marked as dealt with.", "success")
    return redirect(url_for("messaging.requests"))


# --- the care team's inbox ---------------------------------------------------------------------


def _thread_or_403(thread_id: int) -> Thread:
    thread = db.get_or_404(Thread, thread_id)
    ensure(
        inbox.can_see(current_user, thread),
        "This message is for the patient's care team"
        + (
            " (the front desk sees messages about appointments)."
            if current_user.role is Role.FRONT_DESK
            else "."
        ),
    )
    return thread


@bp.route("/messages/inbox")
@require_roles(*INBOX_ROLES)
def team_inbox():
    show = request.args.get("show", "all")
    if show not in ("all", "unread", "mine"):
        abort(400)
    threads = inbox.inbox(current_user, show)
    audit.record_read("messages.inbox_viewed", current_user, {t.patient_id for t in threads})
    return render_template("messaging/inbox.html", threads=threads, show=show)


@bp.route("/messages/inbox/<int:thread_id>", methods=["GET", "POST"])
@require_roles(*INBOX_ROLES)
@once
def team_thread(thread_id: int):
    thread = _thread_or_403(thread_id)
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            with attempt():
                inbox.reply(thread, current_user, form.body.data)
        except Refused as err:
            show_beside(form, err, "body")
        else:
            flash(
                "Reply sent. The patient is told by e-mail or text that a reply is waiting.",
                "success",
            )
            return redirect(url_for("messaging.team_thread", thread_id=thread.id))
    elif request.method == "GET" and thread.unread_by_team:
        inbox.mark_read(thread, current_user)
    audit.record(
        "messages.thread_viewed", actor=current_user, obj=thread, patient_id=thread.patient_id
    )
    assign_form = AssignForm()
    choices = [(0, "No one")] + [(u.id, u.full_name) for u in inbox.assignable(thread)]
    assign_form.assignee.choices = choices
    assign_form.assignee.data = thread.assigned_to_id or 0
    return render_template(
        "messaging/thread_staff.html",
        thread=thread,
        form=form,
        assign_form=assign_form,
        confirm=ConfirmForm(),
        clinical=current_user.role in (Role.PROVIDER, Role.CLINICAL_STAFF),
    ), (422 if form.is_submitted() else 200)


@bp.route("/messages/inbox/<int:thread_id>/assign", methods=["POST"])
@require_roles(Role.PROVIDER, Role.CLINICAL_STAFF)
def assign_thread(thread_id: int):
    thread = _thread_or_403(thread_id)
    form = AssignForm()
    form.assignee.choices = [(0, "No one")] + [
        (u.id, u.full_name) for u in inbox.assignable(thread)
    ]
    if not form.validate_on_submit():
        flash("Choose someone on the patient's care team.", "danger")
        return redirect(url_for("messaging.team_thread", thread_id=thread.id))
    to = db.session.get(User, form.assignee.data) if form.assignee.data else None
    try:
        with attempt():
            inbox.assign(thread, to, current_user)
    except Refused as err:
        flash(err.message, "danger")
    else:
        flash(f"Assigned to {to.full_name}." if to else "No one is assigned now.", "success")
    return redirect(url_for("messaging.team_thread", thread_id=thread.id))


@bp.route("/messages/inbox/<int:thread_id>/urgent", methods=["POST"])
@require_roles(Role.PROVIDER, Role.CLINICAL_STAFF)
def flag_urgent(thread_id: int):
    thread = _thread_or_403(thread_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with attempt():
        inbox.set_urgent(thread, not thread.urgent, current_user)
    flash(
        "Marked as sounding urgent: it is at the top of the worklist."
        if thread.urgent
        else "The urgent mark is cleared.",
        "success",
    )
    return redirect(url_for("messaging.team_thread", thread_id=thread.id))


@bp.route("/messages/inbox/<int:thread_id>/unread", methods=["POST"])
@require_roles(*INBOX_ROLES)
def mark_unread(thread_id: int):
    thread = _thread_or_403(thread_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with attempt():
        inbox.mark_unread(thread, current_user)
    flash("Marked as unread.", "success")
    return redirect(url_for("messaging.team_inbox"))
