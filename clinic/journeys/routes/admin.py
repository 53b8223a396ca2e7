"""Administrators edit the clinical catalogues: checklists (versioned), conditions,
follow-up protocols."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional, Regexp, ValidationError

from clinic.errors import Refused, StaleWrite, show_beside
from clinic.extensions import db
from clinic.forms import ClinicForm, VersionField, id_list
from clinic.journeys import models as m
from clinic.journeys.services import catalogues, checklists
from clinic.journeys.states import StageKind, Therapy
from clinic.policy import ADMIN_ONLY, restrict_blueprint
from clinic.transaction import attempt

admin_bp = Blueprint("journeys_admin", __name__, url_prefix="/admin/clinical")
restrict_blueprint(admin_bp, ADMIN_ONLY)

OPTIONAL = "(optional)"
ITEM_MAX = 300  # checklist_item.text


class ChecklistVersionForm(ClinicForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=160)])
    items = TextAreaField(
        "Items, one per line",
        validators=[DataRequired(message="A checklist needs at least one item.")],
        description=f"Every item is required unless its line starts with {OPTIONAL}.",
    )
    # The version published when the page was opened (blank: none yet), so a publish from
    # an older page does not drop the changes of one published since.
    based_on = VersionField(required=False)

    def validate_items(self, field) -> None:
        for number, line in enumerate((field.data or "").splitlines(), start=1):
            if len(line.strip()) > ITEM_MAX:
                raise ValidationError(f"Line {number}: keep each item under {ITEM_MAX} characters.")


class ConditionForm(ClinicForm):
    code = StringField("ICD-10-CM code", validators=[DataRequired(), Length(max=12)])
    name = StringField("Name", validators=[DataRequired(), Length(max=160)])


class ProtocolForm(ClinicForm):
    steps = TextAreaField(
        "Follow-ups, one per line",
        validators=[DataRequired(), Length(max=4000)],
        description="label | due day after the injection | window opens days before | "
        "closes days after",
    )
    # The ids of the steps the page showed ("4,5,6"), so a save from an older page is stale.
    seen = HiddenField(validators=[Optional(), Regexp(r"^[0-9]{1,9}(,[0-9]{1,9}){0,99}$")])


class ToggleForm(ClinicForm):
    # What the button asks for ("1" offer, "0" retire), not "the other state": a double click
    # or a second tab's button would otherwise undo the first.
    active = HiddenField(validators=[AnyOf(("0", "1"))])


def _kind_and_therapy() -> tuple[StageKind, Therapy | None]:
    try:
        kind = StageKind(request.args.get("kind", ""))
        therapy = Therapy(request.args["therapy"]) if request.args.get("therapy") else None
    except (ValueError, KeyError):
        abort(400)
    return kind, therapy


@admin_bp.route("/checklists")
def checklist_list():
    templates = db.session.scalars(
        sa.select(m.ChecklistTemplate)
        .options(sa.orm.selectinload(m.ChecklistTemplate.items))
        .order_by(m.ChecklistTemplate.stage_kind, m.ChecklistTemplate.version.desc())
    ).all()
    return render_template("journeys/admin_checklists.html", templates=templates)


@admin_bp.route("/checklists/new", methods=["GET", "POST"])
def checklist_new():
    kind, therapy = _kind_and_therapy()
    form = ChecklistVersionForm()
    current = checklists.current_template(kind, therapy or Therapy.PRP)
    conflict = None
    if request.method == "GET":
        form.based_on.data = str(checklists.latest_version(kind, therapy) or "")
    if request.method == "GET" and current is not None:
        form.title.data = current.title
        form.items.data = "\n".join(
            (i.text if i.required else f"{OPTIONAL} {i.text}") for i in current.items
        )
    if form.validate_on_submit():
        items = []
        for line in form.items.data.splitlines():
            text = line.strip()
            if text:
                optional = text.lower().startswith(OPTIONAL)
                items.append((text[len(OPTIONAL) :].strip() if optional else text, not optional))
        based_on = int(form.based_on.data) if (form.based_on.data or "").strip() else None
        try:
            with attempt():
                template = checklists.new_version(
                    kind, therapy, form.title.data, items, current_user, based_on
                )
        except StaleWrite as err:
            conflict = err.changes
            form.based_on.data = str(checklists.latest_version(kind, therapy) or "")
        except Refused as err:
            show_beside(form, err, "items")
        else:
            flash(f"{template.title} version {template.version} published.", "success")
            return redirect(url_for("journeys_admin.checklist_list"))
    status = 409 if conflict is not None else 422 if request.method == "POST" else 200
    return render_template(
        "journeys/admin_checklist_new.html",
        form=form,
        kind=kind,
        therapy=therapy,
        conflict=conflict,
    ), status


@admin_bp.route("/conditions", methods=["GET", "POST"])
def conditions():
    form = ConditionForm()
    if form.validate_on_submit():
        try:
            with attempt():
                catalogues.add_condition(form.code.data, form.name.data, current_user)
        except Refused as err:
            show_beside(form, err, "code")
        else:
            flash("Condition added.", "success")
            return redirect(url_for("journeys_admin.conditions"))
    rows = db.session.scalars(sa.select(m.Condition).order_by(m.Condition.code)).all()
    status = 422 if request.method == "POST" else 200
    return render_template(
        "journeys/admin_conditions.html", form=form, conditions=rows, toggle=ToggleForm()
    ), status


@admin_bp.route("/conditions/<int:condition_id>/toggle", methods=["POST"])
def condition_toggle(condition_id: int):
    condition = db.get_or_404(m.Condition, condition_id)
    form = ToggleForm()
    if not form.validate_on_submit():
        abort(400)
    catalogues.set_condition_active(condition, form.active.data == "1", current_user)
    flash(f"{condition.display} is {'offered' if condition.active else 'retired'}.", "success")
    return redirect(url_for("journeys_admin.conditions"))


@admin_bp.route("/follow-up-protocols/<therapy>", methods=["GET", "POST"])
def protocol(therapy: str):
    try:
        chosen = Therapy(therapy)
    except ValueError:
        abort(404)
    form = ProtocolForm()
    conflict = None
    if request.method == "GET":
        current = catalogues.current_protocol(chosen)
        form.steps.data = "\n".join(
            f"{s.label} | {s.due_days} | {s.window_before_days} | {s.window_after_days}"
            for s in current
        )
        form.seen.data = _ids(current)
    if form.validate_on_submit():
        seen = id_list(form.seen.data)
        try:
            with attempt():
                steps = catalogues.parse_protocol(form.steps.data)
                catalogues.replace_protocol(chosen, steps, current_user, seen)
        except ValueError as err:
            form.steps.errors.append(str(err))
        except StaleWrite as err:
            conflict = err.changes
            form.seen.data = _ids(catalogues.current_protocol(chosen))
        else:
            flash(f"Follow-up protocol for {chosen.label} saved.", "success")
            return redirect(url_for("journeys_admin.protocol", therapy=chosen.value))
    status = 409 if conflict else 422 if request.method == "POST" else 200
    return render_template(
        "journeys/admin_protocol.html",
        form=form,
        therapy=chosen,
        therapies=list(Therapy),
        conflict=conflict,
    ), status


def _ids(steps) -> str:
    return ",".join(str(step.id) for step in steps)
