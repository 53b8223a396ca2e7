"""Merging duplicate patient records: choose the two, preview, merge; and the past merges."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.admin import bp
from clinic.admin.forms import MergeForm
from clinic.errors import Refused, StaleWrite, show_beside
from clinic.extensions import db
from clinic.inputs import query_id, query_int
from clinic.models import audit
from clinic.patients import merge as merging
from clinic.patients import picker
from clinic.patients.models import Patient, PatientMerge
from clinic.submissions import once
from clinic.transaction import attempt


def _pickers(first: Patient | None, second: Patient | None):
    action = url_for("admin.merge_patients")
    keep = picker.current_args("a", "b", "keep")
    return (
        picker.build(first, action=action, keep=keep, label="First record", param="a"),
        picker.build(second, action=action, keep=keep, label="Second record", param="b"),
    )


def _posted(value: str | None) -> Patient | None:
    value = value or ""
    return db.session.get(Patient, int(value)) if value.isdigit() and len(value) < 10 else None


@bp.route("/merges/new", methods=["GET", "POST"])
@once
def merge_patients():
    first = db.session.get(Patient, query_id("a") or 0)
    second = db.session.get(Patient, query_id("b") or 0)
    keep_second = request.args.get("keep") == "b"
    form = MergeForm()
    plan = None
    status, stale = 200, False
    if request.method == "POST":
        survivor, retired = _posted(form.survivor.data), _posted(form.retired.data)
        if survivor is None or retired is None:
            flash("Choose the two records again.", "warning")
            return redirect(url_for("admin.merge_patients"))
        first, second, keep_second = survivor, retired, False
        if form.validate_on_submit():
            try:
                with attempt():
                    record = merging.merge(
                        survivor,
                        retired,
                        by=current_user,
                        reason=form.reason.data,
                        survivor_version=int(form.survivor_version.data),
                        retired_version=int(form.retired_version.data),
                        close_retired_portal=form.close_retired_portal.data,
                    )
            except StaleWrite:
                stale = True
                db.session.refresh(survivor)
                db.session.refresh(retired)
                form.survivor_version.data = str(survivor.version)
                form.retired_version.data = str(retired.version)
                form.reason.errors.append(
                    "One of these records changed since the preview. Check the preview again "
                    "and merge again."
                )
            except Refused as err:
                show_beside(form, err, "reason")
            else:
                flash(
                    f"Merged: {retired.mrn} is retired and everything moved to {survivor.mrn}.",
                    "success",
                )
                return redirect(url_for("admin.merge_detail", merge_id=record.id))
        status = 409 if stale else 422
    survivor, retired = (second, first) if keep_second else (first, second)
    if survivor is not None and retired is not None:
        plan = merging.plan(survivor, retired)
        if request.method == "GET":
            form.survivor.data, form.retired.data = str(survivor.id), str(retired.id)
            form.survivor_version.data = str(survivor.version)
            form.retired_version.data = str(retired.version)
        audit.record(
            "patient.merge_previewed",
            actor=current_user,
            obj=survivor,
            patient_id=survivor.id,
            patients=[survivor.id, retired.id],
        )
    first_picker, second_picker = _pickers(first, second)
    return render_template(
        "admin/merge.html",
        form=form,
        plan=plan,
        first_picker=first_picker,
        second_picker=second_picker,
        first=first,
        second=second,
        keep_second=keep_second,
    ), status


@bp.route("/merges")
def merges():
    page = query_int("page", 1, low=1, high=100000)
    result = db.paginate(
        sa.select(PatientMerge).order_by(PatientMerge.merged_at.desc(), PatientMerge.id.desc()),
        page=page,
        per_page=25,
        error_out=False,
    )
    shown = {m.survivor_id for m in result.items} | {m.retired_id for m in result.items}
    audit.record("patient.merges_viewed", actor=current_user, patients=sorted(shown))
    return render_template(
        "admin/merges.html", page=result, counts=merging.moved_counts, snapshot=merging.snapshot
    )


@bp.route("/merges/<int:merge_id>")
def merge_detail(merge_id: int):
    record = db.get_or_404(PatientMerge, merge_id)
    audit.record(
        "patient.merge_viewed",
        actor=current_user,
        obj=record,
        patient_id=record.survivor_id,
        patients=[record.survivor_id, record.retired_id],
    )
    return render_template(
        "admin/merge_detail.html",
        record=record,
        counts=merging.moved_counts(record),
        snapshot=merging.snapshot(record),
    )
