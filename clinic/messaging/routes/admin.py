"""Admins: message wording (versioned), the sending rules and the pause switch; the local SMS
outbox for development."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.auth.models import Role
from clinic.errors import Refused, StaleWrite, show_beside
from clinic.extensions import db
from clinic.inputs import query_int
from clinic.messaging import bp, services
from clinic.messaging.forms import SettingsForm, TemplateForm
from clinic.messaging.models import (
    TEMPLATE_THERAPIES,
    TEMPLATE_VISIT_KINDS,
    MessageKind,
    SmsOutboxMessage,
)
from clinic.policy import require_roles
from clinic.transaction import attempt

ANY = "any"
VISIT_NAMES = {"": "Any visit", "evaluation": "Evaluation", "procedure": "Procedure",
               "follow_up": "Follow-up", "phone_check": "Phone check"}  # fmt: skip
THERAPY_NAMES = {"": "Any therapy", "prp": "PRP", "bmac": "BMAC", "adipose": "Adipose-derived",
                 "growth_factor": "Growth factor"}  # fmt: skip


def _key_or_404(kind: str, visit_kind: str, therapy: str) -> tuple[MessageKind, str, str]:
    try:
        message_kind = MessageKind(kind)
    except ValueError:
        abort(404)
    visit = "" if visit_kind == ANY else visit_kind
    treatment = "" if therapy == ANY else therapy
    if visit not in TEMPLATE_VISIT_KINDS or treatment not in TEMPLATE_THERAPIES:
        abort(404)
    return message_kind, visit, treatment


@bp.route("/messages/templates")
@require_roles(Role.ADMIN)
def templates():
    return render_template(
        "messaging/templates.html",
        templates=services.newest_templates(),
        kinds=list(MessageKind),
        visit_names=VISIT_NAMES,
        therapy_names=THERAPY_NAMES,
        ANY=ANY,
    )


@bp.route("/messages/templates/<kind>/<visit_kind>/<therapy>", methods=["GET", "POST"])
@require_roles(Role.ADMIN)
def edit_template(kind: str, visit_kind: str, therapy: str):
    message_kind, visit, treatment = _key_or_404(kind, visit_kind, therapy)
    versions = services.history(message_kind, visit, treatment)
    current = versions[0] if versions else None
    form = TemplateForm()
    conflict = None
    if request.method == "GET" and current:
        form.subject.data, form.body.data = current.subject, current.body
        form.sms_body.data = current.sms_body
        form.based_on.data = str(current.version)
    if form.validate_on_submit():
        raw = (form.based_on.data or "").strip()
        based_on = int(raw) if raw else None
        try:
            with attempt():
                services.save_version(
                    message_kind,
                    visit,
                    treatment,
                    subject=form.subject.data,
                    body=form.body.data,
                    sms_body=form.sms_body.data,
                    based_on=based_on,
                    by=current_user,
                )
        except StaleWrite:
            conflict = services.history(message_kind, visit, treatment)[0]
            form.based_on.data = str(conflict.version)
        except Refused as err:
            show_beside(form, err)
        else:
            flash("Saved as a new version. Messages sent from now on use it.", "success")
            return redirect(request.path)
    status = 409 if conflict else 422 if form.is_submitted() else 200
    return render_template(
        "messaging/template_edit.html",
        form=form,
        kind=message_kind,
        visit_name=VISIT_NAMES[visit],
        therapy_name=THERAPY_NAMES[treatment],
        versions=versions,
        conflict=conflict,
        email_fields=sorted(services.EMAIL_FIELDS),
        sms_fields=sorted(services.SMS_FIELDS),
    ), status


@bp.route("/messages/templates/new", methods=["GET"])
@require_roles(Role.ADMIN)
def new_template():
    """Start a wording specific to a visit kind or therapy (chosen in the query)."""
    kind = request.args.get("kind", "")
    visit = request.args.get("visit_kind", ANY) or ANY
    therapy = request.args.get("therapy", ANY) or ANY
    _key_or_404(kind, visit, therapy)
    return redirect(
        url_for("messaging.edit_template", kind=kind, visit_kind=visit, therapy=therapy)
    )


@bp.route("/messages/settings", methods=["GET", "POST"])
@require_roles(Role.ADMIN)
def settings():
    row = services.settings()
    form = SettingsForm(obj=row)
    conflict = None
    if request.method == "GET":
        form.seen.data = services.settings_stamp(row)
    if form.validate_on_submit():
        values = {name: getattr(form, name).data for name in SETTINGS}
        try:
            with attempt():
                services.update_settings(current_user, form.seen.data or None, **values)
        except StaleWrite:
            db.session.refresh(row)
            conflict = _settings_changes(form, row, values)
            form.seen.data = services.settings_stamp(row)
            return render_template(
                "messaging/settings.html", form=form, row=row, conflict=conflict
            ), 409
        flash(
            "Saved. Sending is paused: nothing goes out until you switch it back on."
            if row.paused
            else "Saved.",
            "warning" if row.paused else "success",
        )
        return redirect(url_for("messaging.settings"))
    return render_template("messaging/settings.html", form=form, row=row, conflict=None), (
        422 if form.is_submitted() else 200
    )


SETTINGS = (
    "paused", "quiet_from_hour", "quiet_until_hour", "send_hour", "medicine_days",
    "fasting_days", "day_before_days", "closing_days", "office_hours", "emergency_advice",
)  # fmt: skip


def _settings_changes(form: SettingsForm, row, values: dict) -> list[tuple[str, str, str]]:
    """(setting, saved now, your entry) for each setting the other save left different."""

    def shown(name: str, value) -> str:
        field = getattr(form, name)
        if isinstance(value, bool):
            return "yes" if value else "no"
        return dict(field.choices).get(value, str(value)) if hasattr(field, "choices") else value

    return [
        (getattr(form, name).label.text, shown(name, getattr(row, name)), shown(name, values[name]))
        for name in SETTINGS
        if getattr(row, name) != values[name]
    ]


@bp.route("/messages/sms-outbox")
@require_roles(Role.FRONT_DESK, Role.ADMIN)
def sms_outbox():
    # only while texts are kept here (SMS_TRANSPORT=outbox), like the e-mail outbox: with
    # Twilio or texts off, no text is kept, and rows from an earlier outbox stay unread
    if current_app.config["SMS_TRANSPORT"] != "outbox":
        abort(404)
    page = db.paginate(
        db.select(SmsOutboxMessage).order_by(SmsOutboxMessage.id.desc()),
        page=query_int("page", 1),
        per_page=50,
        error_out=False,
    )
    return render_template("messaging/sms_outbox.html", page=page, masked=services.masked_links)
