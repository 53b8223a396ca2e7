"""Portal access forms."""

from wtforms import EmailField, SubmitField
from wtforms.validators import DataRequired, Email, Length

from clinic.auth.forms import NewPasswordMixin
from clinic.forms import ClinicForm


class InviteForm(ClinicForm):
    email = EmailField(
        "Patient's e-mail",
        validators=[
            DataRequired(),
            Email(message="Enter a valid e-mail address."),
            Length(max=254),
        ],
        description="The invitation link goes to this address; it becomes their sign-in.",
    )
    submit = SubmitField("Send invitation")


class SetPasswordForm(ClinicForm, NewPasswordMixin):
    submit = SubmitField("Save my password")


class ForgotPasswordForm(ClinicForm):
    email = EmailField("Your e-mail", validators=[DataRequired(), Length(max=254)])
    submit = SubmitField("Send me a link")
