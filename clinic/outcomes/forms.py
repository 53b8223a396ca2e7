"""Forms built from an instrument's definition, and the staff forms."""

from __future__ import annotations

from wtforms import DateField, RadioField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from clinic.forms import ClinicForm, VersionField, days_from_today, within
from clinic.outcomes.instruments import Instrument
from clinic.outcomes.scoring import Answers

SKIP = "skip"


def answer_form_class(instrument: Instrument) -> type[ClinicForm]:
    """A form with one radio group per item (plus 'skip' where the item allows it)."""
    fields: dict = {}
    for item in instrument.items:
        choices = [(str(o.value), o.label) for o in item.options]
        if item.skippable:
            choices.append((SKIP, "Skip this section (it does not apply to me)"))
        fields[f"item_{item.code}"] = RadioField(
            item.text, choices=choices, validators=[Optional()], validate_choice=True
        )
    fields["version"] = VersionField()
    fields["save"] = SubmitField("Save and finish later")
    fields["submit"] = SubmitField("Submit answers")
    return type(f"{instrument.code.title()}Form", (ClinicForm,), fields)


def answers_from(form: ClinicForm, instrument: Instrument) -> Answers:
    """The answers given so far: a number, None for an explicit skip, absent if untouched."""
    answers: Answers = {}
    for item in instrument.items:
        raw = form[f"item_{item.code}"].data
        if raw == SKIP:
            answers[item.code] = None
        elif raw not in (None, "", "None"):
            answers[item.code] = int(raw)
    return answers


def prefill(form: ClinicForm, saved: Answers) -> None:
    for code, value in saved.items():
        field = form._fields.get(f"item_{code}")
        if field is not None and field.data in (None, "", "None"):
            field.data = SKIP if value is None else str(value)


class AssignForm(ClinicForm):
    timepoint = StringField(
        "Timepoint",
        validators=[DataRequired(), Length(max=40)],
        default="baseline",
        description="For example baseline, 6 weeks, 3 months.",
    )
    region = SelectField(
        "Area treated",
        choices=[("lumbar", "Low back / sacroiliac"), ("cervical", "Neck")],
        description="Chooses the disability questionnaire: low back or neck.",
    )
    available_from = DateField(
        "Open from",
        validators=[DataRequired(), within(days_from_today(-365), days_from_today(730))],
    )
    due_by = DateField(
        "Due by", validators=[Optional(), within(days_from_today(-365), days_from_today(1095))]
    )
    submit = SubmitField("Ask the patient to fill these in")


class VoidForm(ClinicForm):
    reason = StringField("Reason", validators=[DataRequired(), Length(max=200)])
    submit = SubmitField("Withdraw")
