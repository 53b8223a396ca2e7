"""Shared view helpers for the answer page (patients and staff fill the same form)."""

from __future__ import annotations

from flask import render_template, request

from clinic.errors import Refused, StaleWrite
from clinic.extensions import db
from clinic.outcomes import scoring, services
from clinic.outcomes.forms import answer_form_class, answers_from, prefill
from clinic.outcomes.instruments import Instrument, Item
from clinic.outcomes.models import QuestionnaireResponse
from clinic.timeutil import clinic_today
from clinic.transaction import attempt


def handle_answer_form(
    response: QuestionnaireResponse, user, on_done, step: services.GuidedStep | None = None
):
    """GET shows the form with saved answers; POST saves a draft or submits.

    Returns a response tuple, or the result of `on_done(submitted)` after a successful save.
    """

    message = services.not_open_yet(response, clinic_today())
    if message:
        status = 409 if request.method == "POST" else 200
        return render_template("outcomes/closed.html", response=response, message=message), status
    instrument = services.instrument_of(response)
    form = answer_form_class(instrument)()
    problems = None
    conflict = None
    if form.validate_on_submit():
        submit = bool(form.submit.data)
        answers = answers_from(form, instrument)
        try:
            with attempt():
                services.save_answers(
                    response, answers, by=user, submit=submit, version=int(form.version.data)
                )
        except services.Incomplete as err:
            problems = err.problems
        except StaleWrite:
            db.session.refresh(response)
            if not response.is_open:  # submitted (or voided) meanwhile: nothing left to answer
                message = services.STALE_ANSWERS
                return render_template(
                    "outcomes/closed.html", response=response, message=message
                ), 409
            conflict = changed_answers(instrument, response.answer_map(), answers)
        except Refused as err:
            return render_template("outcomes/closed.html", response=response, message=str(err)), 409
        else:
            return on_done(submit)
    elif not form.is_submitted():
        prefill(form, response.answer_map())
    else:  # an answer the item does not offer (a changed page): said, the rest kept
        invalid = tuple(item.code for item in instrument.items if form[f"item_{item.code}"].errors)
        problems = scoring.Problems(invalid=invalid) if invalid else None
    form.version.data = str(response.version)
    missing = set(problems.missing + problems.invalid) if problems else set()
    page = render_template(
        "outcomes/answer.html",
        response=response,
        instrument=instrument,
        form=form,
        problems=problems,
        missing=missing,
        staff=user.is_staff,
        step=step,
        conflict=conflict,
    )
    return page, 409 if conflict is not None else 200


def changed_answers(
    instrument: Instrument, saved: scoring.Answers, mine: scoring.Answers
) -> list[tuple[str, str, str]]:
    """(question, saved now, your answer) for each answer the other save left different."""

    def shown(item: Item, answers: scoring.Answers) -> str:
        if item.code not in answers:
            return "no answer"
        value = answers[item.code]
        if value is None:
            return "skipped"
        return next((o.label for o in item.options if o.value == value), str(value))

    return [
        (item.text, shown(item, saved), shown(item, mine))
        for item in instrument.items
        if shown(item, saved) != shown(item, mine)
    ]
