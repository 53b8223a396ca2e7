"""Forms for patient safety data (allergies, blood thinners), the day-of screen, and the review
of an earlier absolute contraindication."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from clinic.forms import ClinicForm, VersionField, clinic_date_range
from clinic.journeys.forms import DT_FORMAT, bounded
from clinic.patients.models import AntithromboticDrug

DONE = [Optional(), clinic_date_range(years_back=5, years_ahead=0)]


class AllergyForm(ClinicForm):
    substance = StringField(
        "Allergic to", validators=[DataRequired(message="Name the substance."), Length(max=120)]
    )
    reaction = StringField(
        "Reaction", validators=[DataRequired(message="Describe the reaction."), Length(max=200)]
    )


class MedicineForm(ClinicForm):
    drug = SelectField("Medicine", choices=[(d.value, d.label) for d in AntithromboticDrug])
    name = StringField("Name and dose", validators=[Optional(), Length(max=120)])
    last_dose_at = DateTimeLocalField("Last dose taken", format=DT_FORMAT, validators=DONE)


class ReviewForm(ClinicForm):
    note = TextAreaField(
        "Review note",
        validators=[DataRequired(message="Write what you reviewed."), Length(max=500)],
    )


class RemoveForm(ClinicForm):
    """Remove an allergy or stop a medicine: only the CSRF token."""


@bounded("day_of_screen")
class ScreenForm(ClinicForm):
    version = VersionField(required=False)  # the screen the page showed; none before the first
    # The allergies and medicines the page showed (screening.safety_lists_stamp).
    lists_seen = HiddenField(validators=[Optional(), Length(max=4000)])
    allergies_confirmed = BooleanField("Allergies gone through with the patient today")
    medicines_confirmed = BooleanField(
        "Blood thinners, antiplatelets and NSAIDs gone through with the patient today, "
        "last doses updated"
    )
    new_medicines = StringField(
        "New medicines since the evaluation", validators=[Optional(), Length(max=300)]
    )
    infection_signs = BooleanField("Signs of infection today (fever, skin infection at the site)")
    pregnancy = SelectField(
        "Pregnancy",
        choices=[
            ("not_applicable", "Not applicable"),
            ("negative", "Test negative"),
            ("positive", "Pregnant"),
        ],
    )
    platelets = DecimalField("Platelets (×10³/µL), if measured", places=2, validators=[Optional()])
    hb = DecimalField("Haemoglobin (g/dL), if measured", places=2, validators=[Optional()])
    inr = DecimalField("INR, if measured", places=2, validators=[Optional()])
    consent_form_version = StringField(
        "Re-consent: form version", validators=[Optional(), Length(max=40)]
    )
    consent_signed_at = DateTimeLocalField(
        "Re-consent: signed at", format=DT_FORMAT, validators=DONE
    )
    override_reason = TextAreaField(
        "Provider's override (reason)",
        validators=[Optional(), Length(max=500)],
        description="Only a provider, only for items that allow it; hard stops cannot be "
        "overridden.",
    )
