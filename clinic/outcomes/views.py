"""Shared view helpers for the answer page (patients and staff fill the same form)."""

from __future__ import annotations

from flask import render_template
from sqlalchemy.orm.exc import StaleDataError

from clinic.db_setup import begin_write
from clinic.errors import StaleWrite
from clinic.extensions import db
from clinic.outcomes import services
from clinic.outcomes.forms import answer_form_class, answers_from, prefill
from clinic.outcomes.models import QuestionnaireResponse


def handle_answer_form(response: QuestionnaireResponse, user, on_done):  # noqa: ANN001, ANN201
    """GET shows the form with saved answers; POST saves a draft or submits.

    Returns a response tuple, or the result of `on_done(submitted)` after a successful save.
    """
    from flask import request

    from clinic.timeutil import clinic_today

    if request.method == "POST":
        begin_write(db.session)  # SQLite: hold the write lock from the version check to the save
    message = services.not_open_yet(response, clinic_today())
    if message:
        status = 409 if request.method == "POST" else 200
        return render_template("outcomes/closed.html", response=response, message=message), status
    instrument = services.instrument_of(response)
    form = answer_form_class(instrument)()
    problems = None
    if form.validate_on_submit():
        if form.version.data != str(response.version):
            return render_template(
                "outcomes/closed.html", response=response, message=services.STALE_ANSWERS
            ), 409
        submit = bool(form.submit.data)
        try:
            services.save_answers(
                response,
                answers_from(form, instrument),
                by=user,
                submit=submit,
                version=int(form.version.data),
            )
        except StaleWrite as err:
            return render_template("outcomes/closed.html", response=response, message=str(err)), 409
        except services.Incomplete as err:
            db.session.rollback()
            problems = err.problems
        except services.QuestionnaireError as err:
            db.session.rollback()
            return render_template("outcomes/closed.html", response=response, message=str(err)), 409
        else:
            try:
                db.session.commit()
            except StaleDataError:
                db.session.rollback()
                return render_template(
                    "outcomes/closed.html",
                    response=response,
                    message="These answers were changed somewhere else at the same moment. "
                    "Open the questionnaire again to see what was saved.",
                ), 409
            return on_done(submit)
    elif not form.is_submitted():
        prefill(form, response.answer_map())
    form.version.data = str(response.version)
    missing = set(problems.missing + problems.invalid) if problems else set()
    return render_template(
        "outcomes/answer.html",
        response=response,
        instrument=instrument,
        form=form,
        problems=problems,
        missing=missing,
        staff=user.is_staff,
    )
