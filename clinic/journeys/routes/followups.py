"""Recording a recovery follow-up, or marking it missed."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from clinic.errors import Refused, StaleWrite, show_beside
from clinic.extensions import db
from clinic.journeys import bp
from clinic.journeys import forms as f
from clinic.journeys import models as m
from clinic.journeys.loaders import load_follow_up
from clinic.journeys.services import followups
from clinic.journeys.services.followups import ASSESSMENT_FIELDS, PLANS
from clinic.models import audit
from clinic.submissions import once
from clinic.transaction import attempt


def _load(journey_id: int, follow_up_id: int) -> m.FollowUp:
    return load_follow_up(journey_id, follow_up_id)


def _back(follow_up: m.FollowUp) -> str:
    return url_for(
        "journeys.chart", patient_id=follow_up.patient_id, _anchor=f"journey-{follow_up.journey_id}"
    )


@bp.route("/journeys/<int:journey_id>/follow-ups/<int:follow_up_id>", methods=["GET", "POST"])
@once
def follow_up(journey_id: int, follow_up_id: int):
    item = _load(journey_id, follow_up_id)
    if request.method == "GET":
        audit.record("follow_up.viewed", actor=current_user, obj=item, patient_id=item.patient_id)
    form = f.FollowUpForm() if request.method == "POST" else f.FollowUpForm(obj=item)
    if request.method == "GET":
        form.version.data = str(item.version)
        form.plan.data = item.plan or ""
    status = 200
    conflict = None
    if form.validate_on_submit():
        values = {name: getattr(form, name).data for name in ASSESSMENT_FIELDS}
        values["provider_note"] = (values["provider_note"] or "").strip() or None
        try:
            with attempt():
                followups.record_follow_up(item, values, current_user, form.version.data)
        except StaleWrite:
            db.session.refresh(item)
            form.version.data = str(item.version)
            conflict = [("Status", item.status.value, "")] + [
                (getattr(form, name).label.text, getattr(item, name), values[name])
                for name in ASSESSMENT_FIELDS
                if _shown(getattr(item, name)) != _shown(values[name])
            ]
            status = 409
        except Refused as err:
            show_beside(form, err, "plan")
            status = 422
        else:
            flash(f"{item.label} follow-up recorded.", "success")
            return redirect(_back(item))
    elif request.method == "POST":
        status = 422
    return render_template(
        "journeys/follow_up.html",
        item=item,
        form=form,
        conflict=conflict,
        plans=PLANS,
        missed_form=f.MissedForm(formdata=None, version=str(item.version)),
    ), status


def _shown(value: object) -> object:
    return getattr(value, "value", value)


@bp.route("/journeys/<int:journey_id>/follow-ups/<int:follow_up_id>/missed", methods=["POST"])
def follow_up_missed(journey_id: int, follow_up_id: int):
    item = _load(journey_id, follow_up_id)
    form = f.MissedForm()
    if form.validate_on_submit() and form.confirmed.data != "yes":
        return render_template("journeys/follow_up_missed_confirm.html", item=item, form=form)
    if form.validate_on_submit():
        try:
            with attempt():
                followups.mark_missed(
                    item,
                    current_user,
                    form.version.data,
                    reason=form.reason.data,
                    detail=form.detail.data,
                )
        except (StaleWrite, StaleDataError) as err:
            flash(f"Not done: {err or 'the follow-up changed meanwhile; reload it.'}", "danger")
        except Refused as err:
            show_beside(form, err, "reason")
            return _render_missed(item, form)
        else:
            flash(f"{item.label} follow-up marked missed.", "success")
        return redirect(_back(item))
    if form.version.errors:
        abort(400)
    return _render_missed(item, form)


def _render_missed(item: m.FollowUp, form: f.MissedForm):
    """The follow-up page again with the missed form's problem beside its field (422)."""
    return render_template(
        "journeys/follow_up.html",
        item=item,
        form=f.FollowUpForm(formdata=None, version=str(item.version)),
        conflict=None,
        plans=PLANS,
        missed_form=form,
    ), 422
