"""Signing several reviewed stages at once: a review page that shows each stage's key values
beside a checkbox, and a post that signs the ticked ones whose version is still the one shown."""

from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.auth.models import Role
from clinic.errors import Refused, StaleWrite
from clinic.extensions import db
from clinic.journeys import bp
from clinic.journeys import models as m
from clinic.journeys.context import show
from clinic.journeys.forms import BatchSignForm
from clinic.journeys.services import stages
from clinic.journeys.services.journeys import preload_records, record_of
from clinic.journeys.services.queries import worklist_for
from clinic.journeys.stageform import build_form, visible_fields
from clinic.models import audit
from clinic.policy import require_roles
from clinic.reads import patients_of
from clinic.transaction import attempt

TICKED = re.compile(r"^(\d{1,9}):(\d{1,9})$")


def key_values(stage: m.Stage) -> list[tuple[str, str]]:
    """The stage record's filled-in fields as (label, words), for review before signing."""
    form = build_form(stage, submitted=False, choices=False)
    record = record_of(stage)
    pairs = []
    for f in visible_fields(stage, form):
        if f.name == "contraindication_ids":
            words = "; ".join(c.label for c in record.contraindications) or "none"
        else:
            words = show(record, f.name)
        if words not in ("—", ""):
            pairs.append((f.label.text, words))
    return pairs


@bp.route("/worklist/sign", methods=["GET", "POST"])
@require_roles(Role.PROVIDER)
def batch_sign():
    waiting = worklist_for(current_user, sections=("to_sign",)).to_sign
    form = BatchSignForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        by_id = {s.id: s for s in waiting}
        signed, refused = [], []
        for value in form.stage_ids.data or []:
            match = TICKED.match(value)
            if match is None:
                abort(400)
            stage_id, version = int(match.group(1)), int(match.group(2))
            stage = by_id.get(stage_id) or db.session.get(m.Stage, stage_id)
            name = _name(stage) if stage is not None else f"Stage {stage_id}"
            if stage is None or stage_id not in by_id:
                refused.append(f"{name}: it is no longer waiting for your signature.")
                continue
            try:
                with attempt():
                    stages.sign_stage(stage, current_user, version)
            except StaleWrite:
                refused.append(f"{name}: it changed after you reviewed it; open it and check.")
            except Refused as err:
                refused.append(f"{name}: {err}")
            else:
                signed.append(name)
        if signed:
            flash(f"Signed {len(signed)}: {'; '.join(signed)}.", "success")
        for line in refused:
            flash(f"Not signed: {line}", "warning")
        if not signed and not refused:
            flash("Tick the stages you have reviewed, then sign them.", "info")
        return redirect(url_for("journeys.batch_sign"))
    audit.record_read(
        "worklist.sign_review_viewed", current_user, patients_of(waiting, "journey.patient_id")
    )
    loaded = preload_records(waiting)  # held while the rows are built
    rows = [(stage, key_values(stage)) for stage in waiting]
    del loaded
    return render_template("journeys/batch_sign.html", rows=rows, form=form)


def _name(stage: m.Stage) -> str:
    cycle = f" (cycle {stage.cycle.number})" if stage.cycle else ""
    return f"{stage.journey.patient.display_name}, {stage.kind.label}{cycle}"
