"""Sign-in and password forms."""

from wtforms import EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length

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
    submit = SubmitField("Change password")
