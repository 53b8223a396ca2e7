"""Moves values between a stage's typed record and its form (clinic time ↔ UTC, enums)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from wtforms import DateTimeLocalField, SelectField, SelectMultipleField

from clinic.auth.models import Role, User
from clinic.dates import fmt_date, fmt_datetime, label
from clinic.extensions import db
from clinic.journeys import codes
from clinic.journeys import models as m
from clinic.journeys.forms import STAGE_FORMS
from clinic.journeys.models.records import Decision
from clinic.journeys.services.journeys import record_of
from clinic.journeys.states import StageKind
from clinic.timeutil import clinic_tz, to_clinic

SKIP = {"csrf_token", "version", "verifier_password"}


def _field_names(form) -> list[str]:
    return [f.name for f in form if f.name not in SKIP]


def build_form(stage: m.Stage, submitted: bool, choices: bool = True):
    """The stage's form: filled from the request when submitted, else from its record
    (without `choices`, for reading its values only, the lists' options are not read)."""
    form_cls = STAGE_FORMS[stage.kind.value]
    form = form_cls() if submitted else form_cls(formdata=None)
    if choices:
        _set_choices(stage, form)
    if not submitted:
        fill_from_record(form, record_of(stage))
        form.version.data = str(stage.version)
    return form


def _set_choices(stage: m.Stage, form) -> None:
    if stage.kind is StageKind.EVALUATION:
        items = db.session.scalars(
            sa.select(m.Contraindication)
            .where(m.Contraindication.active)
            .order_by(m.Contraindication.position)
        )
        form.contraindication_ids.choices = [(c.id, f"{c.label} ({label(c.kind)})") for c in items]
    if stage.kind is StageKind.PROCESSING:
        team = db.session.scalars(
            sa.select(User)
            .where(User.role.in_([Role.PROVIDER, Role.CLINICAL_STAFF]), User.active)
            .order_by(User.full_name)
        )
        choices = [("", "—")] + [(str(u.id), u.full_name) for u in team]
        form.processed_by_id.choices = choices
        form.verified_by_id.choices = choices


def display(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if hasattr(value, "label"):
        return value.label
    if hasattr(value, "value"):
        return label(value)
    if isinstance(value, datetime):
        return fmt_datetime(value)
    if isinstance(value, date):
        return fmt_date(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return codes.label_of(value) or value
    return str(value)


def fill_from_record(form, record) -> None:
    for name in _field_names(form):
        field = getattr(form, name)
        if name == "contraindication_ids":
            field.data = [c.id for c in record.contraindications]
            continue
        value = getattr(record, name)
        if isinstance(value, datetime):
            value = to_clinic(value).replace(tzinfo=None)
        elif hasattr(value, "value"):
            value = value.value
        elif isinstance(field, SelectField) and value is not None:
            # Through the field's own coerce, so the saved choice shows as selected again.
            value = field.coerce(str(value))
        field.data = value


def values_from_form(form, stage: m.Stage) -> dict[str, Any]:
    """The typed values to save: aware UTC datetimes, enums, None for blanks."""
    values: dict[str, Any] = {}
    for name in _field_names(form):
        field = getattr(form, name)
        value = field.data
        if isinstance(field, DateTimeLocalField) and value is not None:
            value = value.replace(tzinfo=clinic_tz())
        elif isinstance(field, SelectMultipleField):
            value = list(value or [])
        elif isinstance(value, str):
            value = value.strip() or None
        values[name] = value
    if stage.kind is StageKind.EVALUATION and values.get("decision"):
        values["decision"] = Decision(values["decision"])
    return values


def differences(form, record) -> list[tuple[str, str, str]]:
    """(label, saved value, your value) for each field the other save changed differently."""
    changed = []
    for name in _field_names(form):
        field = getattr(form, name)
        if name == "contraindication_ids":
            saved = sorted(c.id for c in record.contraindications)
            mine = sorted(field.data or [])
            if saved != mine:
                labels = dict(field.choices)
                changed.append(
                    (
                        field.label.text,
                        ", ".join(labels.get(i, "?") for i in saved) or "—",
                        ", ".join(labels.get(i, "?") for i in mine) or "—",
                    )
                )
            continue
        saved = getattr(record, name)
        mine = field.data
        if isinstance(saved, datetime) and isinstance(mine, datetime):
            same = to_clinic(saved).replace(tzinfo=None, second=0, microsecond=0) == mine
        elif isinstance(saved, Decimal) and mine is not None:
            same = saved == Decimal(str(mine))
        else:
            norm_saved = getattr(saved, "value", saved)
            both_empty = norm_saved in (None, "") and mine in (None, "")
            same = both_empty or str(norm_saved) == str(mine)
        if not same:
            changed.append((field.label.text, display(saved), display(mine)))
    return changed


COLLECTION_FIELDS = {
    "prp": [
        "draw_site",
        "blood_volume_ml",
        "anticoagulant_ml",
        "baseline_platelets",
        "baseline_wbc",
        "baseline_neutrophils",
        "baseline_hb",
    ],
    "bmac": ["harvest_side", "anaesthesia", "aspirate_ml", "pull_count", "pull_size_ml"],
    "adipose": ["harvest_site", "anaesthesia", "tumescent_ml", "lipoaspirate_ml"],
}
COLLECTION_FIELDS["growth_factor"] = COLLECTION_FIELDS["prp"] + ["product_name", "product_lot"]


def visible_fields(stage: m.Stage, form) -> list:
    """The form's fields that apply to this journey's therapy, in order."""
    names = _field_names(form)
    if stage.kind is StageKind.COLLECTION:
        wanted = ["identifiers_checked", "collected_at"]
        wanted += COLLECTION_FIELDS[stage.journey.therapy.value]
        names = [n for n in names if n in wanted]
    return [getattr(form, n) for n in names]


EVALUATION_GROUPS = (
    (
        "History and conservative care",
        (
            "pain_duration_months",
            "pain_location",
            "pain_radiation",
            "physical_therapy_weeks",
            "medications",
            "prior_injections",
            "prior_surgery",
        ),
    ),
    (
        "Imaging and examination",
        ("imaging_modality", "imaging_date", "imaging_findings", "exam_findings"),
    ),
    ("Contraindication screen", ("contraindication_ids", "relative_acknowledgement")),
    (
        "Decision and treatment plan",
        ("decision", "decision_reason", "planned_guidance", "planned_treatments"),
    ),
    ("Informed consent", ("consent_form_version", "consent_signed_at", "consent_witness")),
)


def field_groups(stage: m.Stage, form) -> list[tuple[str | None, list]]:
    """The visible fields in titled groups (the evaluation is long; the others are one group)."""
    fields = visible_fields(stage, form)
    if stage.kind is not StageKind.EVALUATION:
        return [(None, fields)]
    by_name = {f.name: f for f in fields}
    return [(title, [by_name[n] for n in names]) for title, names in EVALUATION_GROUPS]
