"""The clinical team's home: the worklist, and finding a patient's chart."""

from __future__ import annotations

from flask import abort, current_app, render_template, request
from flask_login import current_user

from clinic.inputs import query_text
from clinic.journeys import bp
from clinic.journeys.services.queries import SECTIONS, WORKLIST_SHOW, find_patients
from clinic.journeys.states import StageKind
from clinic.journeys.worklist_rows import WorklistRows
from clinic.journeys.worklist_view import ANCHORS, WHEN_CHOICES, worklist_page
from clinic.models import audit
from clinic.timeutil import clinic_today


def render_worklist():
    """The worklist page for the signed-in provider or clinical staff member."""
    show = request.args.get("show", "all")
    when = request.args.get("when", "any")
    kind_code = request.args.get("stage", "")
    expanded = request.args.get("section") or None
    if show not in WORKLIST_SHOW or when not in WHEN_CHOICES:
        abort(400)
    if expanded is not None and expanded not in SECTIONS:
        abort(400)
    kinds = {k.value: k for k in StageKind}
    if kind_code and kind_code not in kinds:
        abort(400)
    today = clinic_today()
    page = worklist_page(current_user, show, when, kinds.get(kind_code), today, expanded)
    shown = [s for rows in page.sections.values() for s in rows]
    audit.record_read("worklist.viewed", current_user, {s.patient_id for s in shown})
    return render_template(
        "journeys/worklist.html",
        page=page,
        anchors=ANCHORS,
        today=today,
        when_choices=WHEN_CHOICES,
        stage_kinds=list(StageKind),
        worklist_rows=WorklistRows(
            current_app.jinja_env.get_template("journeys/_worklist_row.html").module
        ),
    )


@bp.route("/worklist")
def worklist():
    return render_worklist()


@bp.route("/patients")
def find_patient():
    query = query_text("q", 80)
    patients = find_patients(query)
    if patients:
        audit.record_read("patient.searched", current_user, [p.id for p in patients])
    return render_template("journeys/find_patient.html", query=query, patients=patients)
