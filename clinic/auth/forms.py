"""Sign-in and password forms."""

from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from clinic.auth.passwords import MAX_LENGTH
from clinic.forms import ClinicForm


class LoginForm(ClinicForm):
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=MAX_LENGTH)])
    submit = SubmitField("Sign in")


class NewPasswordMixin:
    new_password = PasswordField(
        "New password",
        validators=[DataRequired()],
        description="At least 12 characters; a few unrelated words make a strong password.",
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("new_password", message="The two entries differ.")],
    )


class ChangePasswordForm(ClinicForm, NewPasswordMixin):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    code = StringField(
        "Code from your authenticator app",
        validators=[Optional(), Length(max=20)],
        description="Asked when your account has two-step sign-in.",
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    submit = SubmitField("Change password")


class ReauthMixin:
    """Your own password (and code, once enrolled) again, before a sensitive change."""

    password = PasswordField(
        "Your password, to confirm",
        validators=[Optional(), Length(max=128)],
        render_kw={"autocomplete": "current-password"},
    )
    code = StringField(
        "Code from your authenticator app",
        validators=[Optional(), Length(max=20)],
        description="Asked when your account has two-step sign-in.",
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class CodeForm(ClinicForm):
    code = StringField(
        "Code",
        validators=[DataRequired(), Length(max=20)],
        description="The 6-digit code from your authenticator app, or one of your recovery codes.",
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    submit = SubmitField("Continue")


class EnrolForm(ClinicForm):
    code = StringField(
        "Code shown in your app",
        validators=[DataRequired(), Length(max=20)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    submit = SubmitField("Turn on two-step sign-in")


class StartEnrolForm(ClinicForm):
    submit = SubmitField("Set up two-step sign-in")


class SignOutEverywhereForm(ClinicForm):
    submit = SubmitField("Sign out everywhere")


class RenewRecoveryCodesForm(ClinicForm):
    """The password and a current code from the app, before a new set of recovery codes."""

    password = PasswordField(
        "Your password",
        validators=[DataRequired(), Length(max=128)],
        render_kw={"autocomplete": "current-password"},
    )
    code = StringField(
        "Code from your authenticator app",
        validators=[DataRequired(), Length(max=20)],
        description="The 6-digit code your app shows now. A recovery code is not accepted here.",
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
    submit = SubmitField("Make new recovery codes")
