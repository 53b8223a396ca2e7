"""Forms for managing accounts and searching the audit trail."""

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from clinic.auth.forms import NewPasswordMixin, ReauthMixin
from clinic.auth.models import Role

ROLE_CHOICES = [(r.value, r.label) for r in Role]
STAFF_ROLE_CHOICES = [(r.value, r.label) for r in Role if r is not Role.PATIENT]


class UserForm(FlaskForm):
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("E-mail", validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField("Role", choices=ROLE_CHOICES, validators=[DataRequired()])
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
    version = HiddenField()
    submit = SubmitField("Save changes")


class ResetPasswordForm(FlaskForm, NewPasswordMixin, ReauthMixin):
    submit = SubmitField("Set new password")


class ConfirmForm(FlaskForm):
    """A bare form that carries only the CSRF token, for one-button actions."""

    submit = SubmitField("Confirm")


class AuditSearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    action = StringField("Action starts with", validators=[Optional(), Length(max=60)])
    actor = StringField("User e-mail contains", validators=[Optional(), Length(max=254)])
    patient_id = StringField(
        "Patient id",
        validators=[Optional(), Length(max=12)],
        description="Who looked at this patient's record, lists included.",
    )
    object_type = StringField("Record type", validators=[Optional(), Length(max=40)])
    date_from = DateField("From (clinic date)", validators=[Optional()])
    date_to = DateField("To (clinic date)", validators=[Optional()])
    submit = SubmitField("Search")
