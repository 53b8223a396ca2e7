"""Forms of the messaging wing."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from clinic.forms import ClinicForm, EnumSelectField, VersionField
from clinic.messaging.models import ThreadSubject

HOURS = [(h, f"{h:02d}:00") for h in range(24)]


class TemplateForm(ClinicForm):
    subject = StringField("E-mail subject", validators=[DataRequired(), Length(max=150)])
    body = TextAreaField(
        "E-mail text",
        validators=[DataRequired(), Length(max=6000)],
        render_kw={"rows": 14},
        description="Plain words. Placeholders in braces, such as {first_name} or {date}, are "
        "filled in for each patient.",
    )
    sms_body = TextAreaField(
        "Text message",
        validators=[DataRequired(), Length(max=480)],
        render_kw={"rows": 4},
        description="No diagnosis or procedure names: {visit} says only 'appointment' unless "
        "the patient allowed detail by text.",
    )
    based_on = VersionField(required=False)
    submit = SubmitField("Save as a new version")


class SettingsForm(ClinicForm):
    seen = HiddenField(validators=[Length(max=40)])  # which save of the settings the page showed
    paused = BooleanField("Pause all sending (nothing goes out until this is switched off)")
    quiet_from_hour = SelectField("Quiet hours start", choices=HOURS, coerce=int)
    quiet_until_hour = SelectField("Quiet hours end", choices=HOURS, coerce=int)
    send_hour = SelectField("Reminders go out at", choices=HOURS, coerce=int)
    medicine_days = IntegerField(
        "Medicine-pause reminder: days before a procedure", validators=[NumberRange(1, 30)]
    )
    fasting_days = IntegerField(
        "Fasting and driver reminder: days before a procedure", validators=[NumberRange(1, 30)]
    )
    day_before_days = IntegerField(
        "Visit reminder: days before any visit", validators=[NumberRange(1, 30)]
    )
    closing_days = IntegerField(
        "Questionnaire reminder: days before the window closes", validators=[NumberRange(1, 30)]
    )
    office_hours = StringField("Office hours (shown to patients)", validators=[Length(max=300)])
    emergency_advice = TextAreaField(
        "Emergency advice (shown beside the message form)",
        validators=[DataRequired(), Length(max=500)],
        render_kw={"rows": 4},
    )
    submit = SubmitField("Save")


class PreferenceForm(ClinicForm):
    email_ok = BooleanField("Agrees to e-mail")
    sms_ok = BooleanField("Agrees to text messages")
    sms_detail_ok = BooleanField("Allows the kind of visit to be named in texts")
    submit = SubmitField("Save consent")


class NewThreadForm(ClinicForm):
    subject = EnumSelectField("What is it about?", ThreadSubject, blank="Choose…")
    title = StringField("Short title (optional)", validators=[Optional(), Length(max=120)])
    body = TextAreaField(
        "Your message", validators=[DataRequired(), Length(max=4000)], render_kw={"rows": 6}
    )
    submit = SubmitField("Send to my care team")

    def validate_subject(self, field) -> None:
        if field.data is None:
            raise ValidationError("Choose what your message is about.")


class ReplyForm(ClinicForm):
    body = TextAreaField(
        "Reply", validators=[DataRequired(), Length(max=4000)], render_kw={"rows": 5}
    )
    submit = SubmitField("Send reply")


class AssignForm(ClinicForm):
    assignee = SelectField("Assign to", coerce=int, validators=[Optional()])
    submit = SubmitField("Assign")
