"""Admin editing of instructions, and the patient's own instructions (with a print view)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.admin.forms import ConfirmForm
from clinic.auth.models import Role
from clinic.errors import Refused, StaleWrite, show_beside
from clinic.extensions import db
from clinic.instructions import bp, services
from clinic.instructions.forms import InstructionForm
from clinic.instructions.models import InstructionVersion
from clinic.instructions.phases import PHASES, Phase
from clinic.journeys.states import Therapy
from clinic.models import audit
from clinic.policy import require_roles
from clinic.timeutil import clinic_today
from clinic.transaction import attempt


def _therapy_or_404(therapy: str) -> str:
    if therapy not in services.THERAPY_CODES:
        abort(404)
    return therapy


def _therapy_name(code: str | None) -> str | None:
    return Therapy(code).label if code in services.THERAPY_CODES else None


def _phase_or_404(value: str) -> Phase:
    try:
        return Phase(value)
    except ValueError:
        abort(404)


@bp.route("/admin/instructions")
@require_roles(Role.ADMIN)
def overview():
    grid = {t.value: services.newest_for_therapy(t.value) for t in Therapy}
    return render_template(
        "instructions/overview.html",
        grid=grid,
        therapies={t.value: t.label for t in Therapy},
        phases=PHASES,
        confirm=ConfirmForm(),
    )


@bp.route("/admin/instructions/<therapy>/<phase>", methods=["GET", "POST"])
@require_roles(Role.ADMIN)
def edit(therapy: str, phase: str):
    therapy, phase = _therapy_or_404(therapy), _phase_or_404(phase)
    versions = services.history(therapy, phase)
    current = versions[0] if versions else None
    form = InstructionForm()
    conflict = None
    if request.method == "GET" and current:
        form.title.data, form.body.data = current.title, current.body
        form.warning_signs.data = current.warning_signs
        form.based_on.data = str(current.version)
    if form.validate_on_submit():
        raw = (form.based_on.data or "").strip()
        if raw and not raw.isdigit():
            abort(400)
        based_on = int(raw) if raw else None
        try:
            with attempt():
                services.save_new_version(
                    therapy,
                    phase,
                    title=form.title.data,
                    body=form.body.data,
                    warning_signs=(form.warning_signs.data or "").strip() or None,
                    based_on=based_on,
                    by=current_user,
                )
        except StaleWrite as err:
            conflict = err.current
            form.based_on.data = str(conflict.version) if conflict else ""
        except Refused as err:
            show_beside(form, err)
        else:
            flash("Saved as a new version. It shows as a sample until approved.", "success")
            return redirect(url_for("instructions.edit", therapy=therapy, phase=phase.value))
    return render_template(
        "instructions/edit.html",
        therapy=therapy,
        therapy_name=_therapy_name(therapy),
        phase=phase,
        form=form,
        versions=versions,
        conflict=conflict,
        confirm=ConfirmForm(),
    ), (409 if conflict else 422 if form.is_submitted() else 200)


@bp.route("/admin/instructions/version/<int:version_id>/approve", methods=["POST"])
@require_roles(Role.ADMIN)
def approve(version_id: int):
    version = db.get_or_404(InstructionVersion, version_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        with attempt():
            services.approve(version, by=current_user)
    except Refused as err:
        flash(str(err), "warning")
    else:
        flash(f"Version {version.version} approved.", "success")
    return redirect(
        url_for("instructions.edit", therapy=version.therapy, phase=version.phase.value)
    )


def _patient_view(template: str):
    patient = current_user.patient
    requested = request.args.get("phase")
    view = services.instructions_for(
        patient, clinic_today(), _phase_or_404(requested) if requested else None
    )
    treatment, phase, shown = view.treatment, view.phase, view.shown
    audit.record(
        "portal.instructions_viewed",
        actor=current_user,
        obj=shown,
        patient_id=patient.id,
        detail=None if shown else f"no text for {phase.value}",
    )
    return render_template(
        template,
        treatment=treatment,
        therapy_name=_therapy_name(treatment.therapy),
        phase=phase,
        current_phase=view.current_phase,
        phases=PHASES,
        shown=shown,
        patient=patient,
        today=clinic_today(),
    )


@bp.route("/my/instructions")
@require_roles(Role.PATIENT)
def mine():
    return _patient_view("instructions/mine.html")


@bp.route("/my/instructions/print")
@require_roles(Role.PATIENT)
def mine_print():
    return _patient_view("instructions/print.html")
