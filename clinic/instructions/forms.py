"""The instruction editing form."""

from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from clinic.forms import ClinicForm, VersionField


class InstructionForm(ClinicForm):
    title = StringField("Heading", validators=[DataRequired(), Length(max=120)])
    body = TextAreaField(
        "Text",
        validators=[DataRequired(), Length(max=8000)],
        render_kw={"rows": 14},
        description="Plain text. Leave an empty line between paragraphs.",
    )
    warning_signs = TextAreaField(
        "Warning signs (always shown, highlighted)",
        validators=[Optional(), Length(max=4000)],
        render_kw={"rows": 8},
        description="One sign a line: when to call the clinic, and when to call 911. Left "
        "empty, the previous version's warning signs are kept: they can never be removed.",
    )
    based_on = VersionField(required=False)  # the version the text was edited from
    submit = SubmitField("Save as a new version")
