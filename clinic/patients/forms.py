"""Patient registration, edit and search forms."""

from __future__ import annotations

import re
from datetime import date

from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    StringField,
    SubmitField,
    TelField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError

from clinic.forms import ClinicForm, EnumSelectField, VersionField
from clinic.patients.models import ContactMethod, Sex

PHONE_HELP = "Digits, spaces, dashes or brackets; a leading + for numbers outside the US."


def valid_phone(form, field) -> None:
    """A phone number: 10 digits (US) or + and 8 to 15 digits (international)."""
    value = (field.data or "").strip()
    if not value:
        return
    if not re.fullmatch(r"\+?[\d\s().-]+", value):
        raise ValidationError("Use digits, spaces, dashes or brackets only.")
    digits = re.sub(r"\D", "", value)
    if value.startswith("+"):
        if not 8 <= len(digits) <= 15:
            raise ValidationError("An international number has 8 to 15 digits after the +.")
    elif len(digits) == 11 and digits.startswith("1"):
        return
    elif len(digits) != 10:
        raise ValidationError("A US number has 10 digits, area code included.")


def real_birth_date(form, field) -> None:
    born = field.data
    if born is None:
        return
    if born > date.today():
        raise ValidationError("The date of birth cannot be in the future.")
    if born.year < date.today().year - 125:
        raise ValidationError("Check the year: that would make the patient over 125.")


real_birth_date.bounds_date = True  # type: ignore[attr-defined]  # the form's own date range


class PatientForm(ClinicForm):
    given_name = StringField("Given name", validators=[DataRequired(), Length(max=80)])
    family_name = StringField("Family name", validators=[DataRequired(), Length(max=80)])
    date_of_birth = DateField(
        "Date of birth",
        validators=[
            DataRequired(message="Enter a real date, e.g. 1968-04-12."),
            real_birth_date,
        ],
    )
    sex = EnumSelectField(
        "Sex",
        Sex,
        blank="Choose…",
        validators=[DataRequired(message="Choose one (Unknown if the patient has not said).")],
    )
    phone = TelField(
        "Phone", validators=[Optional(), Length(max=32), valid_phone], description=PHONE_HELP
    )
    email = EmailField(
        "E-mail",
        validators=[
            Optional(),
            Email(message="Enter an e-mail address like name@example.com."),
            Length(max=254),
        ],
    )
    preferred_contact = EnumSelectField("Preferred contact method", ContactMethod)
    address_line1 = StringField("Street address", validators=[Optional(), Length(max=120)])
    address_line2 = StringField(
        "Apartment, suite (optional)", validators=[Optional(), Length(max=120)]
    )
    city = StringField("City", validators=[Optional(), Length(max=80)])
    region = StringField("State", validators=[Optional(), Length(max=40)])
    postal_code = StringField("ZIP code", validators=[Optional(), Length(max=16)])
    emergency_name = StringField("Emergency contact name", validators=[Optional(), Length(max=120)])
    emergency_relationship = StringField(
        "Relationship to patient", validators=[Optional(), Length(max=40)]
    )
    emergency_phone = TelField(
        "Emergency contact phone", validators=[Optional(), Length(max=32), valid_phone]
    )
    email_change_reason = StringField(
        "Why the e-mail changes",
        validators=[Optional(), Length(max=200)],
        description="This patient signs in to the portal with their e-mail. The old address "
        "is told about the change.",
    )
    not_duplicate = BooleanField("I checked: this is a different person, save anyway")
    # The records the warning listed ("4,17"): the tick vouches for those, not for one found
    # since (the same person registered meanwhile from another tab or desk).
    checked = HiddenField(validators=[Optional(), Regexp(r"^[0-9]{1,9}(,[0-9]{1,9}){0,49}$")])
    version = VersionField(required=False)  # registration has none; an edit must
    submit = SubmitField("Save")

    def validate_postal_code(self, field) -> None:
        value = (field.data or "").strip()
        if value and not re.fullmatch(r"[A-Za-z0-9 -]{3,10}", value):
            raise ValidationError("Enter a ZIP or postal code, e.g. 02115.")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.emergency_name.data and not (self.emergency_phone.data or "").strip():
            self.emergency_phone.errors = [
                *self.emergency_phone.errors,
                "Add a phone number for the emergency contact.",
            ]
            valid = False
        return valid

    def values(self) -> dict:
        """The entered demographics as the service takes them."""
        names = (
            "given_name",
            "family_name",
            "date_of_birth",
            "phone",
            "email",
            "address_line1",
            "address_line2",
            "city",
            "region",
            "postal_code",
            "emergency_name",
            "emergency_relationship",
            "emergency_phone",
        )
        values = {name: getattr(self, name).data for name in names}
        values["sex"] = self.sex.data
        values["preferred_contact"] = self.preferred_contact.data
        return values


class SearchForm(ClinicForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    q = StringField(
        "Find a patient",
        validators=[Optional(), Length(max=80)],
        description="Name (family, given), MRN, date of birth (YYYY-MM-DD or MM/DD/YYYY) or phone.",
    )
