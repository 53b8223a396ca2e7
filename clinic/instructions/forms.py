"""The instruction editing form."""

from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length


class InstructionForm(FlaskForm):
    title = StringField("Heading", validators=[DataRequired(), Length(max=120)])
    body = TextAreaField(
        "Text",
        validators=[DataRequired(), Length(max=8000)],
        render_kw={"rows": 14},
        description="Plain text. Leave an empty line between paragraphs.",
    )
    based_on = HiddenField()
    submit = SubmitField("Save as a new version")
