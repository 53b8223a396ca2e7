"""Forms for managing accounts and searching the audit trail."""

from datetime import date

import sqlalchemy as sa
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    PasswordField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from clinic.auth.forms import NewPasswordMixin, ReauthMixin
from clinic.auth.models import Role
from clinic.extensions import db
from clinic.forms import (
    MAX_ID,
    ClinicForm,
    EnumSelectField,
    VersionField,
    days_from_today,
    record_id,
    within,
)
from clinic.patients.models import Patient
from clinic.patients.services import MRN_PATTERN

# The audit trail starts with the clinic's first records; nothing is dated after tomorrow.
AUDIT_DATES = within(date(2000, 1, 1), days_from_today(1))


class UserForm(ClinicForm):
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("E-mail", validators=[DataRequired(), Email(), Length(max=254)])
    role = EnumSelectField("Role", Role, validators=[DataRequired()])
    patient_mrn = StringField(
        "Patient MRN",
        validators=[Optional(), Length(max=20)],
        description="Only for patient accounts: the medical record number of their chart.",
    )


class NewUserForm(UserForm):
    password = PasswordField(
        "Initial password",
        validators=[DataRequired()],
        description="At least 12 characters. Give it to the person privately.",
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[DataRequired(), EqualTo("password", message="The two entries differ.")],
    )
    submit = SubmitField("Create account")


class EditUserForm(UserForm, ReauthMixin):
    version = VersionField()
    submit = SubmitField("Save changes")


class ResetPasswordForm(ClinicForm, NewPasswordMixin, ReauthMixin):
    submit = SubmitField("Set new password")


class ResetTwoStepForm(ClinicForm, ReauthMixin):
    """Removes someone's authenticator and recovery codes; rendered with prefix "mfa"."""

    submit = SubmitField("Reset two-step sign-in")


class ConfirmForm(ClinicForm):
    """A bare form that carries only the CSRF token, for one-button actions."""

    submit = SubmitField("Confirm")


def patient_reference(form, field) -> None:
    """A patient as staff know them: the record number (MRN) or the record's id. The id found
    is kept on the form (`patient`); an unknown record number is said beside the field."""
    value = (field.data or "").strip()
    form.patient = None
    if not value:
        return
    unclear = "Give the patient's record number (e.g. CJ100001) or their id."
    if value.isascii() and value.isdigit():
        if len(value) > 10 or not 1 <= int(value) <= MAX_ID:
            raise ValidationError(unclear)
        form.patient = int(value)
        return
    if not MRN_PATTERN.match(value):
        raise ValidationError(unclear)
    found = db.session.scalar(sa.select(Patient.id).where(Patient.mrn == value.upper()))
    if found is None:
        raise ValidationError(f"No patient has the record number {value.upper()}.")
    form.patient = found


class AuditSearchForm(ClinicForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    action = StringField("Action starts with", validators=[Optional(), Length(max=60)])
    actor = StringField("User e-mail contains", validators=[Optional(), Length(max=254)])
    patient_id = StringField(
        "Patient (record number or id)",
        validators=[Optional(), Length(max=20), patient_reference],
        description="Who looked at this patient's record, lists included. E.g. CJ100001.",
    )
    object_type = StringField("Record type", validators=[Optional(), Length(max=40)])
    date_from = DateField("From (clinic date)", validators=[Optional(), AUDIT_DATES])
    date_to = DateField("To (clinic date)", validators=[Optional(), AUDIT_DATES])
    submit = SubmitField("Search")

    def validate_date_to(self, field) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The last day is before the first: swap them.")


class MergeForm(ClinicForm):
    """Merge the duplicate into the survivor; both versions as previewed guard against staleness."""

    survivor = HiddenField(validators=[DataRequired(), record_id])
    retired = HiddenField(validators=[DataRequired(), record_id])
    survivor_version = VersionField()
    retired_version = VersionField()
    reason = StringField(
        "Why these are the same person",
        validators=[DataRequired(message="Say why these are the same person."), Length(max=200)],
        description="E.g. registered twice at the desk; confirmed with the patient by phone.",
    )
    close_retired_portal = BooleanField(
        "Close the duplicate's portal account (the survivor's account is kept)"
    )
    submit = SubmitField("Merge these records")
