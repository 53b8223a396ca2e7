"""A stage's page: its typed form (drafts), actions, checklist, notes, time-out and sites."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.auth.models import User
from clinic.errors import Refused, StaleWrite, show_beside
from clinic.extensions import db
from clinic.forms import id_list
from clinic.journeys import bp
from clinic.journeys import forms as f
from clinic.journeys.context import first_site_form, stage_context, timeout_form
from clinic.journeys.loaders import load_stage
from clinic.journeys.services import checklists, notes, specimens, stages
from clinic.journeys.services.journeys import record_of
from clinic.journeys.stageform import build_form, differences, values_from_form
from clinic.journeys.states import StageStatus
from clinic.models import audit
from clinic.policy import ensure_no_refusal, sign_refusal
from clinic.submissions import once
from clinic.transaction import attempt

TEMPLATE = "journeys/stage.html"


def _url(stage, anchor: str | None = None) -> str:
    return url_for("journeys.stage", journey_id=stage.journey_id, stage_id=stage.id, _anchor=anchor)


def _conflict(stage, form, site_form=None):
    """409: the stage changed since the form was loaded; show the newer values, keep input."""
    db.session.refresh(stage)
    changed = differences(form, record_of(stage)) if form is not None else []
    if form is not None:
        form.version.data = str(stage.version)
    context = stage_context(stage, conflict=changed)
    if form is not None:
        context["form"] = form
    else:
        context["form"] = build_form(stage, submitted=False)
    if site_form is not None:
        context["first_site_form"] = site_form
    return render_template(TEMPLATE, **context), 409


@bp.route("/journeys/<int:journey_id>/stages/<int:stage_id>", methods=["GET", "POST"])
def stage(journey_id: int, stage_id: int):
    stage = load_stage(journey_id, stage_id)
    submitted = request.method == "POST"
    form = build_form(stage, submitted)
    # The injection's first site comes with its record (when the page sent those fields).
    site_form = first_site_form(stage, submitted)
    if submitted and not any(name.startswith("site-") for name in request.form):
        site_form = None
    then = request.form.get("then", "")
    if not submitted:
        audit.record(
            "stage.viewed", actor=current_user, obj=stage, patient_id=stage.journey.patient_id
        )
    elif _valid(form, site_form):
        refused_on = form
        try:
            with attempt():
                values = values_from_form(form, stage)
                stages.save_stage(
                    stage,
                    values,
                    current_user,
                    form.version.data,
                    verifier_password=form.data.get("verifier_password"),
                )
                refused_on = site_form
                site_added = site_form is not None and _first_site(stage, site_form, then)
        except StaleWrite:
            return _conflict(stage, form, site_form)
        except Refused as err:
            show_beside(refused_on, err, "level" if refused_on is site_form else None)
        else:
            return _after_save(stage, then, site_added)
    status = 422 if submitted else 200
    context = stage_context(stage, form=form)
    if site_form is not None:
        context["first_site_form"] = site_form
    return render_template(TEMPLATE, **context), status


def _valid(form, site_form) -> bool:
    """Both parts of the page's record form, each with its errors beside its fields."""
    valid = form.validate_on_submit()
    return (site_form is None or site_form.validate()) and valid


def _first_site(stage, site_form, then: str) -> bool:
    """Record the first injected site sent with the record, once its volume is given; without
    one a draft is saved alone, but the stage is not completed without a site."""
    if site_form.volume_ml.data is None:
        if then in ("complete", "sign"):
            raise Refused(
                "Give the volume injected at this site: the injection is completed with its "
                "sites recorded.",
                field="volume_ml",
            )
        return False
    specimens.add_injection_site(
        stage,
        _site_values(site_form),
        current_user,
        off_plan_reason=site_form.off_plan_reason.data,
        cervical_risk_accepted=site_form.cervical_risk_accepted.data,
    )
    return True


def _site_values(form) -> dict:
    extra = ("csrf_token", "off_plan_reason", "cervical_risk_accepted")
    values = {k: v for k, v in form.data.items() if k not in extra}
    values["needle"] = (values.get("needle") or "").strip() or None
    return values


def _after_save(stage, then: str, site_added: bool = False):
    """The draft is saved; "Save and complete" (and "…and sign") go on in their own savepoints,
    so a refusal there leaves the saved draft and says why beside the actions."""
    done = ["Draft saved"] + (["injected site recorded"] if site_added else [])
    if then not in ("complete", "sign"):
        flash(f"{', '.join(done)}.", "success")
        return redirect(_url(stage, "record"))
    try:
        with attempt():
            stages.complete_stage(stage, current_user)
        done.append("stage completed")
        if then == "sign":
            with attempt():
                stages.sign_stage(stage, current_user)
            done.append("signed; its record is now locked")
    except Refused as err:
        flash(f"{', '.join(done)}. Not done: {err}", "warning")
        return redirect(_url(stage, "actions"))
    flash(f"{', '.join(done)}.", "success")
    return redirect(_url(stage, "actions"))


ACTIONS = {
    "start": stages.start_stage,
    "complete": stages.complete_stage,
    "sign": stages.sign_stage,
    "reopen": stages.reopen_stage,
}
MESSAGES = {
    "start": "Stage started.",
    "complete": "Stage completed.",
    "sign": "Stage signed; its record is now locked.",
    "reopen": "Stage reopened for correction.",
    "cancel": "Stage cancelled.",
    "void": "Stage voided.",
}


@bp.route("/journeys/<int:journey_id>/stages/<int:stage_id>/<action>", methods=["POST"])
def stage_action(journey_id: int, stage_id: int, action: str):
    stage = load_stage(journey_id, stage_id)
    if action not in ACTIONS and action not in ("cancel", "void"):
        abort(404)
    if action in ("sign", "void"):
        ensure_no_refusal(sign_refusal(current_user, stage))
    ending = action in ("cancel", "void")
    form = f.ReasonForm() if ending else f.ActionForm()
    if not form.validate_on_submit():
        if ending and form.reason.errors:
            return _ending_again(stage, form)
        abort(400)
    try:
        with attempt():
            if action in ACTIONS:
                ACTIONS[action](stage, current_user, form.version.data)
            else:
                stages.check_version(stage, form.version.data)
                target = StageStatus.CANCELLED if action == "cancel" else StageStatus.VOIDED
                stages.end_stage(stage, target, form.reason.data, current_user)
    except StaleWrite:
        return _conflict(stage, None)
    except Refused as err:
        if ending:
            show_beside(form, err, "reason")
            return _ending_again(stage, form)
        return _refused_page(stage, f"Not done: {err}")
    flash(MESSAGES[action], "success")
    return redirect(_url(stage, "actions"))


def _ending_again(stage, form):
    """422: the stage page again with the cancel or void form open, the reason as written and
    what is wrong with it beside the field."""
    context = stage_context(stage, form=build_form(stage, False), reason_form=form)
    return render_template(TEMPLATE, **context), 422


def _refused_page(stage, message: str):
    """422: the stage page again, the refusal at the top, nothing changed."""
    flash(message, "danger")
    return render_template(TEMPLATE, **stage_context(stage, form=build_form(stage, False))), 422


@bp.route("/journeys/<int:journey_id>/stages/<int:stage_id>/checklist", methods=["POST"])
def checklist(journey_id: int, stage_id: int):
    stage = load_stage(journey_id, stage_id)
    form = f.ChecklistForm()
    items = stage.checklist_template.items if stage.checklist_template else []
    form.item_ids.choices = [(i.id, i.text) for i in items]
    if not form.validate_on_submit():
        abort(400)
    ticked = set(form.item_ids.data or [])
    ids = id_list(form.shown.data)
    shown = None if ids is None else set(ids)
    try:
        with attempt():
            checklists.set_ticks(stage, ticked, current_user, shown=shown)
    except StaleWrite as err:
        db.session.refresh(stage)
        context = stage_context(
            stage, form=build_form(stage, False), conflict=err.changes, checklist_entry=ticked
        )
        return render_template(TEMPLATE, **context), 409
    except Refused as err:
        return _refused_page(stage, f"Checklist not saved: {err}")
    flash("Checklist saved.", "success")
    return redirect(_url(stage, "checklist"))


@bp.route("/journeys/<int:journey_id>/stages/<int:stage_id>/notes", methods=["POST"])
@once
def add_note(journey_id: int, stage_id: int):
    stage = load_stage(journey_id, stage_id)
    form = f.NoteForm()
    if form.validate_on_submit():
        try:
            with attempt():
                note = notes.add_note(stage, form.body.data, current_user)
        except Refused as err:
            show_beside(form, err, "body")
        else:
            flash("Addendum added." if note.is_addendum else "Note added.", "success")
            return redirect(_url(stage, "notes"))
    context = stage_context(stage, form=build_form(stage, False), note_form=form)
    return render_template(TEMPLATE, **context), 422


@bp.route("/journeys/<int:journey_id>/stages/<int:stage_id>/time-out", methods=["POST"])
@once
def time_out(journey_id: int, stage_id: int):
    stage = load_stage(journey_id, stage_id)
    form = timeout_form(submitted=True)
    if form.validate_on_submit():
        members = [
            (db.session.get(User, e.form.user_id.data), e.form.password.data)
            for e in form.members
            if e.form.user_id.data
        ]
        try:
            with attempt():
                stages.time_out(
                    stage,
                    form.specimen_code.data,
                    members,
                    current_user,
                    checklist_read=form.checklist_read.data,
                    checklist_id=form.checklist_id.data,
                )
        except specimens.SpecimenMismatch as err:
            # The hard stop's audit row outlives the rollback (keep_after_rollback).
            context = stage_context(
                stage, form=build_form(stage, False), timeout_form=form, mismatch=err.entered
            )
            return render_template(TEMPLATE, **context), 422
        except Refused as err:
            if err.field == "checklist_read":
                form.checklist_read.data = False  # confirmed again once read again
            show_beside(form, err, "specimen_code")
        else:
            flash("Time-out complete: the syringe matches this patient's product.", "success")
            return redirect(_url(stage, "time-out"))
    context = stage_context(stage, form=build_form(stage, False), timeout_form=form)
    return render_template(TEMPLATE, **context), 422


@bp.route("/journeys/<int:journey_id>/stages/<int:stage_id>/sites", methods=["POST"])
@once
def add_site(journey_id: int, stage_id: int):
    stage = load_stage(journey_id, stage_id)
    form = f.SiteForm()
    if form.validate_on_submit():
        try:
            with attempt():
                specimens.add_injection_site(
                    stage,
                    _site_values(form),
                    current_user,
                    off_plan_reason=form.off_plan_reason.data,
                    cervical_risk_accepted=form.cervical_risk_accepted.data,
                )
        except Refused as err:
            show_beside(form, err, "level")
        else:
            flash("Injected site recorded.", "success")
            return redirect(_url(stage, "sites"))
    context = stage_context(
        stage, form=build_form(stage, False), site_form=form, first_site_form=None
    )
    return render_template(TEMPLATE, **context), 422
