"""Recording a recovery follow-up, or marking it missed."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm.exc import StaleDataError

from clinic.extensions import db
from clinic.journeys import bp
from clinic.journeys import forms as f
from clinic.journeys import models as m
from clinic.journeys.loaders import load_journey
from clinic.journeys.services import followups
from clinic.journeys.services.followups import ASSESSMENT_FIELDS, PLANS
from clinic.journeys.states import TransitionRefused
from clinic.models import audit


def _load(journey_id: int, follow_up_id: int) -> m.FollowUp:
    journey = load_journey(journey_id)
    follow_up = db.get_or_404(m.FollowUp, follow_up_id)
    if follow_up.journey_id != journey.id:
        abort(404)
    return follow_up


def _back(follow_up: m.FollowUp) -> str:
    return url_for(
        "journeys.chart", patient_id=follow_up.patient_id, _anchor=f"journey-{follow_up.journey_id}"
    )


@bp.route("/journeys/<int:journey_id>/follow-ups/<int:follow_up_id>", methods=["GET", "POST"])
def follow_up(journey_id: int, follow_up_id: int):
    item = _load(journey_id, follow_up_id)
    if request.method == "GET":
        audit.record("follow_up.viewed", actor=current_user, obj=item, patient_id=item.patient_id)
        db.session.commit()
    form = f.FollowUpForm() if request.method == "POST" else f.FollowUpForm(obj=item)
    if request.method == "GET":
        form.version.data = str(item.version)
        form.plan.data = item.plan or ""
    status = 200
    if form.validate_on_submit():
        values = {name: getattr(form, name).data for name in ASSESSMENT_FIELDS}
        for name in ("medication_use", "function_work", "provider_note"):
            values[name] = (values[name] or "").strip() or None
        try:
            followups.record_follow_up(item, values, current_user, form.version.data)
            db.session.commit()
        except (followups.StaleFollowUp, StaleDataError):
            db.session.rollback()
            db.session.refresh(item)
            form.version.data = str(item.version)
            flash(
                f"Someone else updated this follow-up (now {item.status.value}); nothing of "
                "yours was saved. Your entries are kept below.",
                "warning",
            )
            status = 409
        except TransitionRefused as err:
            db.session.rollback()
            getattr(form, err.field or "plan").errors.append(str(err))
            status = 400
        else:
            flash(f"{item.label} follow-up recorded.", "success")
            return redirect(_back(item))
    elif request.method == "POST":
        status = 400
    return render_template(
        "journeys/follow_up.html",
        item=item,
        form=form,
        plans=PLANS,
        missed_form=f.ActionForm(formdata=None, version=str(item.version)),
    ), status


@bp.route("/journeys/<int:journey_id>/follow-ups/<int:follow_up_id>/missed", methods=["POST"])
def follow_up_missed(journey_id: int, follow_up_id: int):
    item = _load(journey_id, follow_up_id)
    form = f.ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        followups.mark_missed(item, current_user, form.version.data)
        db.session.commit()
    except (followups.StaleFollowUp, StaleDataError, TransitionRefused) as err:
        db.session.rollback()
        flash(f"Not done: {err or 'the follow-up changed meanwhile; reload it.'}", "danger")
    else:
        flash(f"{item.label} follow-up marked missed.", "success")
    return redirect(_back(item))
