"""The clinical team's home: the worklist, and finding a patient's chart."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from clinic.inputs import query_text
from clinic.journeys import bp
from clinic.journeys.services.queries import find_patients, worklist_for
from clinic.timeutil import clinic_today


def render_worklist():
    """The worklist page for the signed-in provider or clinical staff member."""
    return render_template(
        "journeys/worklist.html", work=worklist_for(current_user), today=clinic_today()
    )


@bp.route("/worklist")
def worklist():
    return render_worklist()


@bp.route("/patients")
def find_patient():
    query = query_text("q", 80)
    return render_template("journeys/find_patient.html", query=query, patients=find_patients(query))
