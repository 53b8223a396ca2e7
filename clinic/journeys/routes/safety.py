"""Patient safety data on the chart (allergies, blood thinners, review of an earlier absolute
contraindication) and each cycle's day-of-procedure screen."""

from __future__ import annotations

from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.errors import Conflict, Refused, StaleWrite, show_beside
from clinic.extensions import db
from clinic.journeys import bp
from clinic.journeys import models as m
from clinic.journeys import safety_forms as sf
from clinic.journeys.loaders import load_journey, load_patient
from clinic.journeys.routes.chart import render_chart
from clinic.journeys.services import screening
from clinic.models import audit
from clinic.patients.models import AntithromboticDrug, PatientAllergy, PatientMedicine
from clinic.submissions import once
from clinic.timeutil import clinic_tz, to_clinic
from clinic.transaction import attempt


def _chart(patient_id: int, anchor: str = "safety"):
    return redirect(url_for("journeys.chart", patient_id=patient_id, _anchor=anchor))


@bp.route("/patients/<int:patient_id>/allergies", methods=["POST"])
@once
def add_allergy(patient_id: int):
    patient = load_patient(patient_id)
    form = sf.AllergyForm()
    if form.validate_on_submit():
        try:
            with attempt():
                screening.add_allergy(
                    patient, form.substance.data, form.reaction.data, current_user
                )
        except Refused as err:
            show_beside(form, err, "substance")
        else:
            flash("Allergy recorded.", "success")
            return _chart(patient.id)
    return render_chart(patient, allergy_form=form), 422


@bp.route("/patients/<int:patient_id>/allergies/<int:allergy_id>/remove", methods=["POST"])
def remove_allergy(patient_id: int, allergy_id: int):
    patient = load_patient(patient_id)
    allergy = db.get_or_404(PatientAllergy, allergy_id)
    if allergy.patient_id != patient.id or not sf.RemoveForm().validate_on_submit():
        abort(404 if allergy.patient_id != patient.id else 400)
    with attempt():
        screening.remove_allergy(allergy, current_user)
    flash("Allergy removed from the current list (kept in the record).", "success")
    return _chart(patient.id)


@bp.route("/patients/<int:patient_id>/medicines", methods=["POST"])
@once
def add_medicine(patient_id: int):
    patient = load_patient(patient_id)
    form = sf.MedicineForm()
    if form.validate_on_submit():
        last = form.last_dose_at.data
        try:
            with attempt():
                screening.add_medicine(
                    patient,
                    AntithromboticDrug(form.drug.data),
                    form.name.data,
                    last.replace(tzinfo=clinic_tz()) if last else None,
                    current_user,
                )
        except Refused as err:
            show_beside(form, err, "last_dose_at")
        else:
            flash("Medicine recorded.", "success")
            return _chart(patient.id)
    return render_chart(patient, medicine_form=form), 422


@bp.route("/patients/<int:patient_id>/medicines/<int:medicine_id>/stop", methods=["POST"])
def stop_medicine(patient_id: int, medicine_id: int):
    patient = load_patient(patient_id)
    medicine = db.get_or_404(PatientMedicine, medicine_id)
    if medicine.patient_id != patient.id or not sf.RemoveForm().validate_on_submit():
        abort(404 if medicine.patient_id != patient.id else 400)
    with attempt():
        screening.stop_medicine(medicine, current_user)
    flash("Medicine marked as stopped.", "success")
    return _chart(patient.id)


@bp.route("/journeys/<int:journey_id>/contraindication-review", methods=["POST"])
def review_contraindications(journey_id: int):
    journey = load_journey(journey_id)
    form = sf.ReviewForm()
    if form.validate_on_submit():
        try:
            with attempt():
                screening.review_absolutes(journey, form.note.data, current_user)
        except Refused as err:
            show_beside(form, err, "note")
        else:
            flash("Review recorded.", "success")
            return _chart(journey.patient_id)
    # the chart again, the note as written and the reason beside this journey's review box
    return render_chart(journey.patient, review_form=form, review_journey_id=journey.id), 422


def _load_cycle(journey_id: int, cycle_id: int) -> m.Cycle:
    journey = load_journey(journey_id)
    cycle = db.get_or_404(m.Cycle, cycle_id)
    if cycle.journey_id != journey.id:
        abort(404)
    return cycle


def _fill(form: sf.ScreenForm, screen: m.DayOfScreen | None) -> None:
    if screen is None:
        return
    form.version.data = str(screen.version)
    for name in screening.SCREEN_FIELDS:
        value = getattr(screen, name)
        if name == "consent_signed_at" and value is not None:
            value = to_clinic(value).replace(tzinfo=None)
        getattr(form, name).data = value
    form.override_reason.data = screen.override_reason


def _values(form: sf.ScreenForm) -> dict:
    values = {name: getattr(form, name).data for name in screening.SCREEN_FIELDS}
    for name in ("new_medicines", "consent_form_version"):
        values[name] = (values[name] or "").strip() or None
    if values["consent_signed_at"] is not None:
        values["consent_signed_at"] = values["consent_signed_at"].replace(tzinfo=clinic_tz())
    return values


@bp.route("/journeys/<int:journey_id>/cycles/<int:cycle_id>/screen", methods=["GET", "POST"])
def day_of_screen(journey_id: int, cycle_id: int):
    cycle = _load_cycle(journey_id, cycle_id)
    screen = screening.screen_of(cycle)
    submitted = request.method == "POST"
    form = sf.ScreenForm() if submitted else sf.ScreenForm(formdata=None)
    conflict = None
    if not submitted:
        _fill(form, screen)
        form.lists_seen.data = screening.safety_lists_stamp(cycle.journey.patient)
        audit.record(
            "screen.viewed",
            actor=current_user,
            obj=cycle.journey,
            patient_id=cycle.journey.patient_id,
        )
    elif form.validate_on_submit():
        seen = int(form.version.data) if (form.version.data or "").strip() else None
        try:
            with attempt():
                screen = screening.record_screen(
                    cycle,
                    _values(form),
                    current_user,
                    form.override_reason.data,
                    seen,
                    lists_seen=form.lists_seen.data,
                )
        except (StaleWrite, Conflict):  # a Conflict: a first screen saved at the same moment
            screen = screening.screen_of(cycle)
            conflict = _screen_changes(form, screen)
            lists_now = screening.safety_lists_stamp(cycle.journey.patient)
            if form.lists_seen.data != lists_now:
                conflict.append(
                    ("Allergies and medicines", "changed: read them again with the patient", "")
                )
            form.version.data = str(screen.version) if screen else ""
            form.lists_seen.data = lists_now
        except Refused as err:
            show_beside(form, err)
        else:
            flash(f"Screen saved: {screen.outcome.label.lower()}.", "success")
            return redirect(
                url_for("journeys.day_of_screen", journey_id=journey_id, cycle_id=cycle.id)
            )
    return render_template(
        "journeys/screen.html",
        form=form,
        cycle=cycle,
        journey=cycle.journey,
        patient=cycle.journey.patient,
        screen=screen,
        risk=screening.procedure_risk(cycle.journey),
        conflict=conflict,
    ), (409 if conflict is not None else 422 if submitted else 200)


def _screen_changes(form: sf.ScreenForm, screen: m.DayOfScreen | None) -> list:
    """(field, saved now, your entry) for each answer the newer screen gives differently."""
    names = (*screening.SCREEN_FIELDS, "override_reason")
    saved = sf.ScreenForm(formdata=None)
    _fill(saved, screen)
    rows = [("Outcome", screen.outcome.label if screen else "no screen", "")]
    for name in names:
        before, mine = getattr(saved, name), getattr(form, name)
        if _shown(before) != _shown(mine):
            rows.append((mine.label.text, _shown(before), _shown(mine)))
    return rows


def _shown(field) -> str:
    if field.type == "BooleanField":
        return "yes" if field.data else "no"
    if field.type == "SelectField":
        return dict(field.choices).get(field.data, "—")
    if isinstance(field.data, Decimal):
        return format(field.data.normalize(), "f")  # 150.00 saved is the 150 typed
    return "—" if field.data in (None, "") else str(field.data)


@bp.route("/journeys/<int:journey_id>/consent")
def consent(journey_id: int):
    """The consent to go through with the patient: regulatory status and the therapy's risks."""
    journey = load_journey(journey_id)
    terms = screening.consent_terms(journey.therapy)
    audit.record("consent.viewed", actor=current_user, obj=journey, patient_id=journey.patient_id)
    return render_template(
        "journeys/consent.html", journey=journey, patient=journey.patient, terms=terms
    )
