"""Forms for break-glass access and care-team assignments."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from clinic.auth.forms import ReauthMixin
from clinic.careteam.models import BreakGlassReason


class BreakGlassForm(ReauthMixin, FlaskForm):
    reason = SelectField(
        "Reason",
        choices=[("", "Choose a reason")] + [(r.value, r.label) for r in BreakGlassReason],
        validators=[InputRequired()],
    )
    explanation = TextAreaField(
        "Why you need this chart now",
        validators=[DataRequired(), Length(max=500)],
        description="Reviewed by an administrator with the audit trail.",
    )
    next = HiddenField()


class AddMemberForm(FlaskForm):
    user_id = SelectField("Add to the team", coerce=int, validators=[InputRequired()])


class ProviderForm(FlaskForm):
    provider_id = SelectField("Responsible provider", coerce=int, validators=[InputRequired()])


class ReviewForm(FlaskForm):
    note = StringField("Review note", validators=[Optional(), Length(max=500)])
