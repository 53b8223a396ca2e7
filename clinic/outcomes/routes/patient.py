"""The patient's own questionnaires and progress."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from clinic.auth.models import Role
from clinic.extensions import db
from clinic.models import audit
from clinic.outcomes import bp, services
from clinic.outcomes.answering import handle_answer_form
from clinic.outcomes.charts import build_chart
from clinic.outcomes.models import QuestionnaireResponse
from clinic.policy import can_answer_questionnaire, ensure, require_roles
from clinic.timeutil import clinic_today


def _own_response(response_id: int) -> QuestionnaireResponse:
    response = db.get_or_404(QuestionnaireResponse, response_id)
    ensure(can_answer_questionnaire(current_user, response))
    return response


@bp.route("/my/questionnaires")
@require_roles(Role.PATIENT)
def my_questionnaires():
    patient = current_user.patient
    audit.record("portal.questionnaires_viewed", actor=current_user, patient_id=patient.id)
    responses = services.response_lines(patient)
    today = clinic_today()
    return render_template(
        "outcomes/my_questionnaires.html",
        due=services.due_now(responses, today),
        upcoming=services.coming_up(responses, today),
        done=[r for r in responses if r.status.value == "completed"],
        instrument_of=services.instrument_of,
    )


@bp.route("/my/questionnaires/<int:response_id>", methods=["GET", "POST"])
@require_roles(Role.PATIENT)
def answer(response_id: int):
    response = _own_response(response_id)
    audit.record(
        "portal.questionnaire_opened",
        actor=current_user,
        obj=response,
        patient_id=response.patient_id,
    )

    responses = services.responses_for(current_user.patient)
    today = clinic_today()

    def done(submitted: bool):
        if not submitted:
            flash("Saved. You can come back and finish later.", "success")
            return redirect(url_for("outcomes.my_questionnaires"))
        following = services.next_due(services.responses_for(current_user.patient), response, today)
        if following is None:
            flash("Thank you, your answers are in. That is everything for now.", "success")
            return redirect(url_for("outcomes.my_questionnaires"))
        flash("Thank you, your answers are in. Here is the next one.", "success")
        return redirect(url_for("outcomes.answer", response_id=following.id))

    step = services.guided_step(responses, response, today) if response.is_open else None
    return handle_answer_form(response, current_user, done, step=step)


@bp.route("/my/progress")
@require_roles(Role.PATIENT)
def my_progress():
    patient = current_user.patient
    audit.record("portal.progress_viewed", actor=current_user, patient_id=patient.id)
    rows = services.progress(services.response_lines(patient))
    return render_template(
        "outcomes/progress.html",
        rows=rows,
        charts=[build_chart(r) for r in rows],
        patient=patient,
        staff_view=False,
    )
