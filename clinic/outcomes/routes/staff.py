"""Clinical staff: a patient's questionnaires, assigning them, entering answers for a patient."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.errors import Refused, show_beside
from clinic.extensions import db
from clinic.journeys.models import Journey
from clinic.models import audit
from clinic.outcomes import adverse, bp, services
from clinic.outcomes.answering import handle_answer_form
from clinic.outcomes.charts import build_chart
from clinic.outcomes.forms import AssignForm, VoidForm
from clinic.outcomes.instruments import standard_set
from clinic.outcomes.models import BASELINE, QuestionnaireResponse
from clinic.patients.models import Patient
from clinic.policy import CLINICAL, ensure_clinical_access, require_roles
from clinic.timeutil import clinic_today
from clinic.transaction import attempt


def _patient(patient_id: int) -> Patient:
    patient = db.get_or_404(Patient, patient_id)
    ensure_clinical_access(current_user, patient)
    return patient


def _response(response_id: int) -> QuestionnaireResponse:
    response = db.get_or_404(QuestionnaireResponse, response_id)
    ensure_clinical_access(current_user, response.patient)
    return response


def _render(patient: Patient, form: AssignForm | None = None, status: int = 200):
    responses = services.responses_for(patient)
    rows = services.progress(responses)
    if form is None:
        form = AssignForm(available_from=clinic_today())
    return render_template(
        "outcomes/patient_outcomes.html",
        patient=patient,
        responses=responses,
        rows=rows,
        charts=[build_chart(r) for r in rows],
        form=form,
        void_form=VoidForm(),
        instrument_of=services.instrument_of,
        staff_view=True,
        today=clinic_today(),
        events=adverse.events_of(patient),
        journeys=_journeys_of(patient),
    ), status


def _journeys_of(patient: Patient) -> list:

    return list(db.session.scalars(sa.select(Journey).where(Journey.patient_id == patient.id)))


@bp.route("/patients/<int:patient_id>/outcomes")
@require_roles(*CLINICAL)
def patient_outcomes(patient_id: int):
    patient = _patient(patient_id)
    audit.record("outcomes.viewed", actor=current_user, obj=patient, patient_id=patient.id)
    return _render(patient)


@bp.route("/patients/<int:patient_id>/outcomes/assign", methods=["POST"])
@require_roles(*CLINICAL)
def assign(patient_id: int):
    patient = _patient(patient_id)
    form = AssignForm()
    if not form.validate_on_submit():
        return _render(patient, form, 422)
    timepoint = form.timepoint.data.strip().lower()
    codes = standard_set(form.region.data, baseline=timepoint == BASELINE)
    try:
        with attempt():
            created = services.assign(
                patient,
                codes,
                timepoint=timepoint,
                available_from=form.available_from.data,
                due_by=form.due_by.data,
                by=current_user,
            )
    except Refused as err:
        show_beside(form, err, "due_by")
        return _render(patient, form, 422)
    flash(
        f"{len(created)} questionnaire(s) added for {timepoint}."
        if created
        else f"The {timepoint} questionnaires were already assigned.",
        "success",
    )
    return redirect(url_for("outcomes.patient_outcomes", patient_id=patient.id))


@bp.route("/questionnaires/<int:response_id>/enter", methods=["GET", "POST"])
@require_roles(*CLINICAL)
def enter_for_patient(response_id: int):
    response = _response(response_id)
    if request.method == "GET":
        audit.record(
            "questionnaire.viewed", actor=current_user, obj=response, patient_id=response.patient_id
        )

    def done(submitted: bool):
        flash(
            "Answers submitted on the patient's behalf." if submitted else "Draft saved.", "success"
        )
        return redirect(url_for("outcomes.patient_outcomes", patient_id=response.patient_id))

    return handle_answer_form(response, current_user, done)


@bp.route("/questionnaires/<int:response_id>/void", methods=["POST"])
@require_roles(*CLINICAL)
def void(response_id: int):
    response = _response(response_id)
    form = VoidForm()
    if not form.validate_on_submit():
        if form.reason.errors:  # blank (e.g. only spaces) or too long: said on the page
            flash("Not withdrawn: give the reason (at most 200 characters).", "danger")
            return _render(response.patient, status=422)
        abort(400)
    try:
        with attempt():
            services.void(response, by=current_user, reason=form.reason.data)
    except Refused as err:
        flash(str(err), "warning")
    else:
        flash("Questionnaire withdrawn.", "success")
    return redirect(url_for("outcomes.patient_outcomes", patient_id=response.patient_id))
