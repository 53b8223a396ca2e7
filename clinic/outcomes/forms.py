"""Forms built from an instrument's definition, and the staff forms."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from clinic.forms import ClinicForm, VersionField, days_from_today, within
from clinic.outcomes.adverse_models import (
    SERIOUS_CRITERIA,
    ActionTaken,
    EventOutcome,
    Relatedness,
)
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


def _enum_choices(kind) -> list[tuple[str, str]]:
    return [("", "—")] + [(k.value, k.label) for k in kind]


def _optional_int(value: object) -> int | None:
    if value in (None, "", "None"):
        return None
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return -1  # not among the choices: refused by validate_choice


class AdverseEventForm(ClinicForm):
    """An adverse event: what, how bad, how serious, how related, what was done, how it ended."""

    term_code = SelectField("Event", validators=[DataRequired("Choose the event from the list.")])
    description = TextAreaField("What happened", validators=[Optional(), Length(max=4000)])
    cycle_id = SelectField("Treatment cycle", coerce=_optional_int, validate_choice=True)
    onset_on = DateField("Started on", validators=[DataRequired("Give the day it started.")])
    resolved_on = DateField("Ended on", validators=[Optional()])
    grade = SelectField(
        "Grade", coerce=_optional_int, validators=[DataRequired("Choose a grade from 1 to 5.")]
    )
    serious_death = BooleanField(SERIOUS_CRITERIA[0][1])
    serious_life_threatening = BooleanField(SERIOUS_CRITERIA[1][1])
    serious_hospital = BooleanField(SERIOUS_CRITERIA[2][1])
    serious_disability = BooleanField(SERIOUS_CRITERIA[3][1])
    serious_other = BooleanField(SERIOUS_CRITERIA[4][1])
    related_procedure = SelectField(
        "Related to the procedure?",
        choices=_enum_choices(Relatedness),
        validators=[DataRequired("Say how likely the procedure caused it.")],
    )
    related_product = SelectField(
        "Related to the injected product?",
        choices=_enum_choices(Relatedness),
        validators=[DataRequired("Say how likely the product caused it.")],
    )
    action_taken = SelectField(
        "Action taken",
        choices=_enum_choices(ActionTaken),
        validators=[DataRequired("Choose what was done.")],
    )
    outcome = SelectField(
        "Outcome",
        choices=_enum_choices(EventOutcome),
        validators=[DataRequired("Choose how it stands now.")],
    )
    version = VersionField(required=False)  # a new event has none; an edit must (below)

    def fill_choices(self, terms, cycles) -> None:
        self.term_code.choices = [("", "—")] + [(t.code, t.term) for t in terms.terms]
        self.grade.choices = [(None, "—")] + [
            (g, f"{g}: {text}") for g, text in terms.grades.items()
        ]
        self.cycle_id.choices = [(None, "Not tied to a cycle")] + [
            (c.id, f"Cycle {c.number}") for c in cycles
        ]


class AdverseEventEditForm(AdverseEventForm):
    """A change to a recorded event: it says which save of the event the page showed."""

    version = VersionField()


class ConcernForm(ClinicForm):
    body = TextAreaField(
        "What worries you?",
        validators=[DataRequired("Tell us what worries you."), Length(max=2000)],
    )
    started_on = DateField("When did it start? (if you know)", validators=[Optional()])


class DismissForm(ClinicForm):
    reason = StringField(
        "Why it is not an adverse event",
        validators=[DataRequired("Say why it is not an adverse event."), Length(max=300)],
    )


class ReviewForm(ClinicForm):
    version = VersionField()
