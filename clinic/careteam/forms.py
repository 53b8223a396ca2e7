"""Forms for break-glass access and care-team assignments."""

from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from clinic.auth.forms import ReauthMixin
from clinic.careteam.models import BreakGlassReason
from clinic.forms import ClinicForm, EnumSelectField


class BreakGlassForm(ReauthMixin, ClinicForm):
    reason = EnumSelectField(
        "Reason", BreakGlassReason, blank="Choose a reason", validators=[DataRequired()]
    )
    explanation = TextAreaField(
        "Why you need this chart now",
        validators=[DataRequired(), Length(max=500)],
        description="Reviewed by an administrator with the audit trail.",
    )
    next = HiddenField()


class AddMemberForm(ClinicForm):
    user_id = SelectField("Add to the team", coerce=int, validators=[InputRequired()])


class ProviderForm(ClinicForm):
    provider_id = SelectField("Responsible provider", coerce=int, validators=[InputRequired()])
    # the responsible provider the page showed: a change decided on an older page is stale
    shown = HiddenField()


class ReviewForm(ClinicForm):
    note = StringField("Review note", validators=[Optional(), Length(max=500)])
