"""Adverse events: report, update and review (clinical team); patients' concerns and triage."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.auth.models import Role
from clinic.errors import Refused, StaleWrite, show_beside
from clinic.extensions import db
from clinic.inputs import query_id
from clinic.journeys.loaders import load_journey
from clinic.journeys.models import Journey
from clinic.models import audit
from clinic.outcomes import adverse, bp
from clinic.outcomes.adverse_models import SERIOUS_CRITERIA, AdverseEvent, PatientConcern
from clinic.outcomes.forms import (
    AdverseEventEditForm,
    AdverseEventForm,
    ConcernForm,
    DismissForm,
    ReviewForm,
)
from clinic.policy import CLINICAL, ensure_clinical_access, require_roles
from clinic.submissions import once
from clinic.transaction import attempt

FIELDS = (
    "term_code",
    "description",
    "cycle_id",
    "onset_on",
    "resolved_on",
    "grade",
    *(name for name, _label in SERIOUS_CRITERIA),
    "related_procedure",
    "related_product",
    "action_taken",
    "outcome",
)


def _event(event_id: int) -> AdverseEvent:
    """The event, for its patient's care team (or a break-glass grant) and the patient: a
    clinician outside the team is offered break-glass, as on the chart (the safety list shows
    every serious event waiting for review, whoever's patient)."""
    event = db.get_or_404(AdverseEvent, event_id)
    back = url_for("outcomes.adverse_event", event_id=event.id)  # after a grant from a POST
    ensure_clinical_access(current_user, event.patient, back=back)
    return event


def _concern(concern_id: int, back: str | None = None) -> PatientConcern:
    concern = db.get_or_404(PatientConcern, concern_id)
    ensure_clinical_access(current_user, concern.patient, back=back)
    return concern


def _values(form: AdverseEventForm) -> dict:
    return {name: form[name].data for name in FIELDS}


@bp.route("/journeys/<int:journey_id>/adverse-events/new", methods=["GET", "POST"])
@require_roles(*CLINICAL)
@once
def report_event(journey_id: int):
    journey = load_journey(journey_id)
    concern_id = query_id("concern")
    concern = _concern(concern_id) if concern_id else None
    if concern is not None and concern.patient_id != journey.patient_id:
        abort(404)
    form = AdverseEventForm()
    form.fill_choices(adverse.term_list(), journey.cycles)
    if request.method == "GET":
        cycle = query_id("cycle")
        current = journey.current_cycle
        form.cycle_id.data = cycle if cycle else (current.id if current else None)
        if concern is not None:
            form.description.data = concern.body
            form.onset_on.data = concern.started_on
    status = 200
    if form.validate_on_submit():
        try:
            with attempt():
                event = adverse.report_event(journey, _values(form), current_user, concern)
        except Refused as err:
            show_beside(form, err, "term_code")
            status = 422
        else:
            flash("Adverse event recorded.", "success")
            return redirect(url_for("outcomes.adverse_event", event_id=event.id))
    elif request.method == "POST":
        status = 422
    return render_template(
        "outcomes/adverse_form.html",
        journey=journey,
        form=form,
        event=None,
        concern=concern,
        conflict=None,
    ), status


@bp.route("/adverse-events/<int:event_id>", methods=["GET", "POST"])
@require_roles(*CLINICAL)
def adverse_event(event_id: int):
    event = _event(event_id)

    journey = db.get_or_404(Journey, event.journey_id)
    form = AdverseEventEditForm() if request.method == "POST" else AdverseEventEditForm(obj=event)
    form.fill_choices(adverse.term_list(), journey.cycles)
    if request.method == "GET":
        audit.record(
            "adverse_event.viewed", actor=current_user, obj=event, patient_id=event.patient_id
        )
        form.version.data = str(event.version)
        for name in ("related_procedure", "related_product", "action_taken", "outcome"):
            form[name].data = getattr(event, name).value
    status = 200
    conflict = None
    if form.validate_on_submit():
        values = _values(form)
        try:
            with attempt():
                adverse.update_event(event, values, current_user, int(form.version.data))
        except StaleWrite:
            db.session.refresh(event)
            conflict = _changes(form, event, values)
            form.version.data = str(event.version)  # saving the kept entry again is possible
            status = 409
        except Refused as err:
            show_beside(form, err, "term_code")
            status = 422
        else:
            flash("Adverse event updated.", "success")
            return redirect(url_for("outcomes.adverse_event", event_id=event.id))
    elif request.method == "POST":
        status = 422
    return render_template(
        "outcomes/adverse_form.html",
        journey=journey,
        form=form,
        event=event,
        concern=None,
        conflict=conflict,
        review_form=ReviewForm(formdata=None, version=str(event.version)),
    ), status


def _changes(form: AdverseEventForm, event: AdverseEvent, values: dict) -> list:
    """(field, saved now, your entry) for each field the other save left different."""

    def shown(name: str, value: object) -> str:
        value = getattr(value, "value", value)
        if isinstance(value, bool):
            return "yes" if value else "no"
        choices = getattr(form[name], "choices", None)
        if choices:
            value = dict((str(v), label) for v, label in choices).get(str(value), value)
        return "—" if value in (None, "") else str(value)

    return [
        (form[name].label.text, shown(name, getattr(event, name)), shown(name, values[name]))
        for name in FIELDS
        if shown(name, getattr(event, name)) != shown(name, values[name])
    ]


@bp.route("/adverse-events/<int:event_id>/review", methods=["POST"])
@require_roles(Role.PROVIDER)
def review_event(event_id: int):
    event = _event(event_id)
    form = ReviewForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with attempt():
            adverse.review_event(event, current_user, int(form.version.data))
    except (Refused, StaleWrite) as err:
        flash(f"Not done: {err}", "danger")
    else:
        flash("Marked as reviewed.", "success")
    return redirect(url_for("outcomes.adverse_event", event_id=event.id))


@bp.route("/safety")
@require_roles(*CLINICAL)
def safety():
    return _safety_page(DismissForm(formdata=None))


def _safety_page(dismiss_form: DismissForm, refused_id: int | None = None):
    """The safety list; after a refused close, that concern's reason as written with what is
    wrong beside it (422)."""
    events = adverse.serious_awaiting_review()
    concerns = adverse.open_concerns()
    for patient_id in {e.patient_id for e in events} | {c.patient_id for c in concerns}:
        audit.record("safety.listed", actor=current_user, patient_id=patient_id)
    page = render_template(
        "outcomes/safety.html",
        events=events,
        concerns=concerns,
        dismiss_form=dismiss_form,
        refused_id=refused_id,
    )
    return page, 422 if refused_id else 200


@bp.route("/concerns/<int:concern_id>/dismiss", methods=["POST"])
@require_roles(*CLINICAL)
def dismiss_concern(concern_id: int):
    concern = _concern(concern_id, back=url_for("outcomes.safety"))
    form = DismissForm()
    if form.validate_on_submit():
        try:
            with attempt():
                adverse.dismiss_concern(concern, form.reason.data, current_user)
        except Refused as err:
            show_beside(form, err, "reason")
        else:
            flash("Concern closed as not an adverse event.", "success")
            return redirect(url_for("outcomes.safety"))
    return _safety_page(form, concern.id)


@bp.route("/my/concern", methods=["GET", "POST"])
@require_roles(Role.PATIENT)
@once
def raise_concern():
    patient = current_user.patient
    form = ConcernForm()
    status = 200
    if form.validate_on_submit():
        try:
            with attempt():
                adverse.raise_concern(patient, form.body.data, form.started_on.data, current_user)
        except Refused as err:
            show_beside(form, err, "body")
            status = 422
        else:
            flash("Thank you. The clinical team will look at this and contact you.", "success")
            return redirect(url_for("main.patient_home"))
    elif request.method == "POST":
        status = 422
    return render_template("outcomes/concern.html", form=form), status
