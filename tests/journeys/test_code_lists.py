"""The clinical code lists live in one place: the forms offer exactly the enum's values and the
database refuses any other value."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from clinic.journeys import codes
from clinic.journeys import forms as f
from clinic.journeys import walkthrough as walk
from clinic.journeys.services.journeys import record_of
from clinic.journeys.states import StageKind

FORM_FIELDS = [
    (f.EvaluationForm, "imaging_modality", codes.ImagingModality),
    (f.EvaluationForm, "planned_guidance", codes.Guidance),
    (f.ProcessingForm, "leukocytes", codes.Leukocytes),
    (f.ProcessingForm, "activation", codes.Activation),
    (f.InjectionForm, "guidance", codes.Guidance),
    (f.InjectionForm, "complications", codes.Complication),
    (f.InjectionForm, "product_disposition", codes.Disposition),
]


@pytest.mark.parametrize(("form", "field", "code_list"), FORM_FIELDS)
def test_forms_offer_exactly_the_code_list(app, form, field, code_list):
    unbound = getattr(form, field)
    offered = [value for value, _label in unbound.kwargs["choices"] if value]
    assert offered == list(codes.values(code_list))


@pytest.mark.parametrize(
    ("kind", "column"),
    [
        (StageKind.EVALUATION, "imaging_modality"),
        (StageKind.EVALUATION, "planned_guidance"),
        (StageKind.INJECTION, "guidance"),
        (StageKind.INJECTION, "complications"),
    ],
)
def test_the_database_refuses_a_value_outside_the_list(
    db, journey, provider, staff, staff2, kind, column
):
    if kind is StageKind.INJECTION:
        walk.evaluate(journey, provider)
        walk.collect(journey, staff)
        walk.process(journey, staff, staff2)
        walk.inject(journey, provider, sign=False)
    stage = journey.evaluation if kind is StageKind.EVALUATION else walk.stage_of(journey, kind)
    record = record_of(stage)
    table = type(record).__table__
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(
            sa.update(table).where(table.c.stage_id == stage.id).values({column: "laser"})
        )


def test_follow_up_plans_come_from_the_code_list():
    from clinic.journeys.services.followups import PLANS

    assert list(PLANS) == list(codes.values(codes.FollowUpPlan))
