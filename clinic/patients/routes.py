"""Patient registration, editing, search and the demographics page."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.errors import Refused, StaleWrite, show_beside
from clinic.extensions import db
from clinic.forms import id_list
from clinic.inputs import query_id, query_text
from clinic.models import audit
from clinic.patients import picker, services
from clinic.patients.forms import PatientForm, SearchForm
from clinic.patients.models import Patient, fold_name, phone_digits
from clinic.policy import (
    ALL_STAFF,
    can_book,
    can_manage_users,
    can_open_journey,
    can_register_patients,
    can_view_patient_demographics,
    ensure,
    restrict_blueprint,
)
from clinic.portal import services as portal_services
from clinic.scheduling.queries import appointments_for_patient
from clinic.submissions import once
from clinic.transaction import attempt

bp = Blueprint("patients", __name__, url_prefix="/patients")
restrict_blueprint(bp, ALL_STAFF)

PAGE_SIZE = 25


def get_patient(patient_id: int) -> Patient:
    """The patient, if this user may see their demographics (404 / 403 otherwise)."""
    patient = db.get_or_404(Patient, patient_id)
    ensure(can_view_patient_demographics(current_user, patient))
    return patient


def _survivor_redirect(patient: Patient):
    """A retired (merged) record leads to the record it was merged into."""
    flash(
        f"{patient.mrn} was a duplicate and has been merged into this record.",
        "info",
    )
    return redirect(
        url_for(request.endpoint or "patients.detail", patient_id=patient.merged_into_id)
    )


MAX_PAGE = 10_000  # far past any search's last page (at most SEARCH_LIMIT results)


@bp.route("/")
def search():
    form = SearchForm(request.args)
    page = None
    if form.q.data and form.validate():
        terms = services.search_query(form.q.data)
        # past the last page shows the last one; a number beyond any page is not sent on
        number = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
        page = services.search_page(terms, number, PAGE_SIZE)
    html = render_template(  # before the commit, which would expire every loaded row
        "patients/search.html",
        form=form,
        page=page,
        can_register=can_register_patients(current_user),
        can_open_journey=can_open_journey(current_user),
    )
    if page is not None:
        audit.record(
            "patient.searched",
            actor=current_user,
            detail=f"by {terms.kind}",
            patients=[p.id for p in page.items],
        )
    return html


@bp.route("/pick.json")
def pick_json():
    """The picker's search-as-you-type: at most ten patients, with what tells them apart."""
    found = picker.find(query_text("q", 80))
    return jsonify(
        patients=[
            {
                "id": p.id,
                "mrn": p.mrn,
                "name": p.display_name,
                "full_name": p.full_name,
                "born": p.date_of_birth.isoformat(),
                "phone": p.phone or "",
            }
            for p in found
        ]
    )


@bp.route("/choose/journey")
def choose_for_journey():
    """Open a treatment journey: pick the patient first (name, birth date, MRN and phone shown)."""
    ensure(can_open_journey(current_user), "Journeys are opened by a provider.")
    chosen = db.session.get(Patient, query_id("patient") or 0)
    if chosen is not None:
        return redirect(url_for("journeys.new_journey", patient_id=chosen.id))
    return render_template(
        "patients/choose.html",
        picker=picker.build(
            None, action=url_for("patients.choose_for_journey"), label="Open a journey for"
        ),
        heading="Open a treatment journey",
    )


def _duplicate_check(form: PatientForm, exclude_id: int | None = None) -> list[services.Duplicate]:
    """The possible duplicates to show, or none when the user ticked "different person" for
    every one of them; a record found since the warning was shown asks again."""
    found = services.possible_duplicates(
        given_name=form.given_name.data,
        family_name=form.family_name.data,
        date_of_birth=form.date_of_birth.data,
        phone=form.phone.data,
        email=form.email.data,
        exclude_id=exclude_id,
    )
    checked = set(id_list(form.checked.data) or ())
    if form.not_duplicate.data and {d.patient.id for d in found} <= checked:
        return []
    form.not_duplicate.data = False  # the tick was for other records: tick again after reading
    form.checked.data = ",".join(str(d.patient.id) for d in found)
    return found


def _identity_changed(form: PatientForm, patient: Patient) -> bool:
    """Did the edit touch what duplicates are matched on (names, birth date, phone)?"""
    return (
        fold_name(form.given_name.data) != patient.given_key
        or fold_name(form.family_name.data) != patient.family_key
        or form.date_of_birth.data != patient.date_of_birth
        or phone_digits(form.phone.data) != patient.phone_key
    )


@bp.route("/new", methods=["GET", "POST"])
@once
def register():
    ensure(can_register_patients(current_user))
    form = PatientForm()
    duplicates: list[services.Duplicate] = []
    if form.validate_on_submit():
        duplicates = _duplicate_check(form)
        if not duplicates:
            try:
                with attempt():
                    patient = services.register_patient(by=current_user, **form.values())
            except Refused as err:
                show_beside(form, err, "given_name")
            else:
                flash(f"{patient.full_name} is registered as {patient.mrn}.", "success")
                return redirect(url_for("patients.detail", patient_id=patient.id))
    status = 200 if request.method == "GET" or not (form.errors or duplicates) else 422
    return render_template(
        "patients/form.html", form=form, patient=None, duplicates=duplicates, conflict=False
    ), status


@bp.route("/<int:patient_id>")
def detail(patient_id: int):
    patient = get_patient(patient_id)
    if patient.merged_into_id is not None:
        return _survivor_redirect(patient)

    appointments = appointments_for_patient(patient)
    html = render_template(  # before the commit, which would expire every loaded row
        "patients/detail.html",
        patient=patient,
        appointments=appointments,
        moved_to={a.rescheduled_from_id: a for a in appointments if a.rescheduled_from_id},
        can_edit=can_register_patients(current_user),
        can_book=can_book(current_user),
        can_merge=can_manage_users(current_user),
    )
    audit.record("patient.viewed", actor=current_user, obj=patient, patient_id=patient.id)
    return html


def _conflict(form: PatientForm, patient: Patient):
    db.session.refresh(patient)
    form.version.data = str(patient.version)
    return render_template(
        "patients/form.html", form=form, patient=patient, duplicates=[], conflict=True
    ), 409


@bp.route("/<int:patient_id>/edit", methods=["GET", "POST"])
def edit(patient_id: int):
    patient = get_patient(patient_id)
    if patient.merged_into_id is not None:
        return _survivor_redirect(patient)
    ensure(can_register_patients(current_user))
    form = PatientForm(obj=patient if request.method == "GET" else None)
    if request.method == "GET":
        audit.record("patient.viewed", actor=current_user, obj=patient, patient_id=patient.id)
        form.version.data = str(patient.version)
    duplicates: list[services.Duplicate] = []
    if form.validate_on_submit():
        if form.version.data != str(patient.version):
            return _conflict(form, patient)
        if _identity_changed(form, patient):
            duplicates = _duplicate_check(form, exclude_id=patient.id)
        if not duplicates:
            try:
                with attempt():
                    services.update_patient(
                        patient,
                        by=current_user,
                        email_change_reason=form.email_change_reason.data,
                        **form.values(),
                    )
            except StaleWrite:
                return _conflict(form, patient)
            except Refused as err:
                show_beside(form, err, "given_name")
            else:
                flash("Changes saved.", "success")
                return redirect(url_for("patients.detail", patient_id=patient.id))
    status = 200 if request.method == "GET" or not (form.errors or duplicates) else 422

    ask_reason = form.is_submitted() and portal_services.needs_email_change_reason(
        patient, form.email.data
    )
    return render_template(
        "patients/form.html",
        form=form,
        patient=patient,
        duplicates=duplicates,
        conflict=False,
        ask_reason=ask_reason,
    ), status
