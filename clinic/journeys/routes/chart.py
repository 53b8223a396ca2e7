"""The patient chart (journey timeline), opening and ending journeys, repeat cycles, labels."""

from __future__ import annotations

import base64
import io

import segno
import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.auth.models import User
from clinic.errors import Refused, StaleWrite, show_beside
from clinic.extensions import db
from clinic.journeys import bp
from clinic.journeys import forms as f
from clinic.journeys import models as m
from clinic.journeys import safety_forms as sf
from clinic.journeys.banner import banner_once
from clinic.journeys.context import stage_context
from clinic.journeys.loaders import (
    load_journey_to_manage,
    load_patient,
    load_specimen,
)
from clinic.journeys.services import journeys as journey_services
from clinic.journeys.services.queries import active_providers, chart_for
from clinic.journeys.stageform import build_form
from clinic.journeys.states import JourneyStatus, Therapy
from clinic.models import audit
from clinic.policy import can_change_team, can_open_journey, care_team_access, ensure
from clinic.submissions import once
from clinic.transaction import attempt


def _chart_url(patient_id: int, anchor: str | None = None) -> str:
    return url_for("journeys.chart", patient_id=patient_id, _anchor=anchor)


@bp.route("/patients/<int:patient_id>/chart")
def chart(patient_id: int):
    patient = load_patient(patient_id)
    audit.record("chart.viewed", actor=current_user, obj=patient, patient_id=patient.id)
    return render_chart(patient)


def render_chart(patient, **forms) -> str:
    """The chart page; `forms` replaces empty forms with ones as sent (errors beside fields)."""
    context = dict(
        chart=chart_for(patient),
        patient=patient,
        access=care_team_access(current_user, patient.id),
        may_open=can_open_journey(current_user),
        action_form=f.ActionForm(formdata=None),
        end_form=f.ReasonForm(formdata=None),
        JourneyStatus=JourneyStatus,
        can_change_team=can_change_team,
        allergy_form=sf.AllergyForm(formdata=None),
        medicine_form=sf.MedicineForm(formdata=None),
        review_form=sf.ReviewForm(formdata=None),
        review_journey_id=None,  # the earlier journey whose review was sent and refused
        end_journey_id=None,  # the journey whose ending was sent and refused
        remove_form=sf.RemoveForm(formdata=None),
        earlier_absolutes=banner_once(patient).earlier,
    )
    context.update(forms)
    return render_template("journeys/chart.html", **context)


def _journey_form() -> f.NewJourneyForm:
    form = f.NewJourneyForm()
    form.provider_id.choices = [(u.id, u.full_name) for u in active_providers()]
    form.condition_ids.choices = [
        (c.id, c.display)
        for c in db.session.scalars(
            sa.select(m.Condition).where(m.Condition.active).order_by(m.Condition.name)
        )
    ]
    if request.method == "GET":
        form.provider_id.data = current_user.id
    return form


@bp.route("/patients/<int:patient_id>/journeys/new", methods=["GET", "POST"])
@once
def new_journey(patient_id: int):
    patient = load_patient(patient_id)
    ensure(can_open_journey(current_user), "Journeys are opened by a provider.")
    form = _journey_form()
    if form.validate_on_submit():
        try:
            with attempt():
                journey = journey_services.open_journey(
                    patient,
                    therapy=Therapy(form.therapy.data),
                    provider=db.session.get(User, form.provider_id.data),
                    condition_ids=form.condition_ids.data,
                    targets=[(form.level.data, form.side.data, form.structure.data)],
                    by=current_user,
                )
        except Refused as err:
            show_beside(form, err, "therapy")
        else:
            flash("Journey opened; the evaluation is ready to start.", "success")
            return redirect(_chart_url(patient.id, f"journey-{journey.id}"))
    status = 422 if request.method == "POST" else 200
    return render_template("journeys/new_journey.html", form=form, patient=patient), status


@bp.route("/journeys/<int:journey_id>/repeat", methods=["POST"])
def repeat_cycle(journey_id: int):
    journey = load_journey_to_manage(journey_id)
    form = f.ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with attempt():
            cycle = journey_services.open_repeat_cycle(journey, current_user, form.version.data)
    except StaleWrite as err:
        return _stale_chart(journey, err)
    except Refused as err:
        flash(f"Not done: {err}", "danger")
    else:
        flash(f"Cycle {cycle.number} opened for the repeat treatment.", "success")
    return redirect(_chart_url(journey.patient_id, f"journey-{journey.id}"))


@bp.route("/journeys/<int:journey_id>/end/<outcome>", methods=["POST"])
def end_journey(journey_id: int, outcome: str):
    journey = load_journey_to_manage(journey_id)
    targets = {"complete": JourneyStatus.COMPLETED, "cancel": JourneyStatus.CANCELLED}
    if outcome not in targets:
        abort(404)
    form = f.ReasonForm()
    if form.validate_on_submit():
        try:
            with attempt():
                journey_services.end_journey(
                    journey, targets[outcome], form.reason.data, current_user, form.version.data
                )
        except StaleWrite as err:
            return _stale_chart(journey, err, end_form=form, end_journey_id=journey.id)
        except Refused as err:
            show_beside(form, err, "reason")
        else:
            flash(f"Journey {targets[outcome].label.lower()}.", "success")
            return redirect(_chart_url(journey.patient_id, f"journey-{journey.id}"))
    elif form.version.errors:  # a page that never said which journey it showed
        abort(400)
    # the chart again: this journey's form open, the reason as written, what is wrong beside it
    return render_chart(journey.patient, end_form=form, end_journey_id=journey.id), 422


def _stale_chart(journey: m.Journey, err: StaleWrite, **forms):
    """409: the chart as it is now, saying that nothing was done; `forms` keep what was
    written (an ending's reason, its form open when the journey can still end)."""
    db.session.refresh(journey)
    flash(f"{err} Check the journey below, then decide again.", "warning")
    return render_chart(journey.patient, **forms), 409


def label_qr(code: str) -> str:
    """The specimen ID as a QR code in an SVG data URI (with its XML namespace, or no browser
    draws it)."""
    out = io.BytesIO()
    segno.make(code, error="m").save(out, kind="svg", scale=3, xmldecl=False, svgns=True)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()


@bp.route("/journeys/<int:journey_id>/specimens/<int:specimen_id>/label")
def specimen_label(journey_id: int, specimen_id: int):
    specimen = load_specimen(journey_id, specimen_id)
    qr = label_qr(specimen.code)
    audit.record(
        "specimen.label_printed",
        actor=current_user,
        obj=specimen,
        patient_id=specimen.patient_id,
        detail=specimen.code,
    )
    return render_template("journeys/label.html", specimen=specimen, qr=qr)


def _condition_choices() -> list[tuple[int, str]]:
    return [
        (c.id, c.display)
        for c in db.session.scalars(
            sa.select(m.Condition).where(m.Condition.active).order_by(m.Condition.name)
        )
    ]


def _back_to_evaluation(journey: m.Journey):
    evaluation = journey.evaluation
    if evaluation is None:
        return redirect(_chart_url(journey.patient_id, f"journey-{journey.id}"))
    return redirect(
        url_for("journeys.stage", journey_id=journey.id, stage_id=evaluation.id, _anchor="plan")
    )


def _evaluation_again(journey: m.Journey, **forms):
    """The evaluation page again with `forms` as sent: the user's choices kept and the reasons
    beside their fields (422); the journey's plan on the chart if it has no evaluation."""
    evaluation = journey.evaluation
    if evaluation is None:
        for form in forms.values():
            for errors in form.errors.values():
                flash(f"Not done: {' '.join(errors)}", "danger")
        return _back_to_evaluation(journey)
    context = stage_context(evaluation, form=build_form(evaluation, False), **forms)
    return render_template("journeys/stage.html", **context), 422


@bp.route("/journeys/<int:journey_id>/targets", methods=["POST"])
@once
def add_target(journey_id: int):
    journey = load_journey_to_manage(journey_id)
    form = f.TargetForm()
    if form.validate_on_submit():
        try:
            with attempt():
                journey_services.add_target(
                    journey, form.level.data, form.side.data, form.structure.data, current_user
                )
        except Refused as err:
            show_beside(form, err, "structure")
        else:
            flash("Target site added.", "success")
            return _back_to_evaluation(journey)
    return _evaluation_again(journey, target_form=form)


@bp.route("/journeys/<int:journey_id>/conditions", methods=["POST"])
def set_conditions(journey_id: int):
    journey = load_journey_to_manage(journey_id)
    form = f.ConditionsForm()
    form.condition_ids.choices = _condition_choices()
    if form.validate_on_submit():
        try:
            with attempt():
                journey_services.set_conditions(journey, form.condition_ids.data, current_user)
        except Refused as err:
            show_beside(form, err, "condition_ids")
        else:
            flash("Diagnoses saved.", "success")
            return _back_to_evaluation(journey)
    return _evaluation_again(journey, conditions_form=form)
