"""Forms for booking, status changes, the slot finder and resource administration."""

from __future__ import annotations

from datetime import datetime

from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from clinic.forms import ClinicForm, EnumSelectField, VersionField, clinic_date_range, record_id
from clinic.scheduling.models import RoomKind, Status, VisitKind


def _kind_with_length(kind: VisitKind) -> str:
    return f"{kind.label} ({kind.default_length.seconds // 60} min)"


def _five_minutes(form, field) -> None:
    if field.data is not None and field.data.minute % 5:
        raise ValidationError("Start on a five-minute mark, e.g. 09:05 or 09:10.")


class BookingForm(ClinicForm):
    patient_mrn = StringField(  # set by the patient picker (a hidden input)
        "Patient MRN",
        validators=[DataRequired(message="Choose the patient first."), Length(max=20)],
    )
    kind = EnumSelectField("Visit", VisitKind, describe=_kind_with_length)
    provider = SelectField("With", coerce=int, validators=[DataRequired()])
    room = SelectField("Room", coerce=int, description="A phone check takes no room.")
    day = DateField(
        "Date", validators=[DataRequired(message="Enter a real date."), clinic_date_range()]
    )
    start = TimeField(
        "Start time", validators=[DataRequired(message="Enter a time like 09:30."), _five_minutes]
    )
    minutes = IntegerField(
        "Length in minutes",
        validators=[Optional(), NumberRange(min=5, max=480)],
        description="Leave empty for the usual length of this visit.",
    )
    notes = TextAreaField("Notes for the front desk", validators=[Optional(), Length(max=2000)])
    link = SelectField(
        "For (clinical journey)",
        choices=[("", "Not linked")],
        validate_choice=False,  # checked against the patient's open links by the route
        description="The stage or follow-up this visit is for, if any.",
    )
    submit = SubmitField("Book")

    def set_choices(self, clinicians, rooms) -> None:
        self.provider.choices = [
            (c.id, f"{c.full_name} ({c.role.label.lower()})") for c in clinicians
        ]
        self.room.choices = [(0, "No room (phone or video)")] + [
            (r.id, f"{r.name} — {r.kind.label.lower()}") for r in rooms
        ]


class RescheduleForm(BookingForm):
    link = None  # a moved visit keeps its journey link
    version = VersionField()
    submit = SubmitField("Move appointment")


class StatusForm(ClinicForm):
    """A one-button status change; the version guards against acting on a stale page."""

    target = HiddenField(validators=[DataRequired()])
    version = VersionField()
    next = HiddenField()

    def validate_target(self, field) -> None:
        allowed = {s.value for s in Status if s is not Status.BOOKED}
        if field.data not in allowed:
            raise ValidationError("Unknown status.")


class CancelForm(ClinicForm):
    reason = StringField(
        "Reason for cancelling",
        validators=[DataRequired(message="Give the reason for cancelling."), Length(max=200)],
    )
    version = VersionField()
    submit = SubmitField("Cancel appointment")


class SlotSearchForm(ClinicForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    kind = EnumSelectField("Visit", VisitKind, describe=_kind_with_length)
    provider = SelectField("With", coerce=int, validate_choice=False)
    room = SelectField("Room", coerce=int, validate_choice=False)
    patient_mrn = StringField("Patient MRN", validators=[Optional(), Length(max=20)])  # the picker
    day = DateField("From", validators=[Optional(), clinic_date_range()])
    submit = SubmitField("Find free slots")

    def set_choices(self, clinicians, rooms) -> None:
        self.provider.choices = [(0, "Anyone who holds this visit")] + [
            (c.id, c.full_name) for c in clinicians
        ]
        self.room.choices = [(0, "Any suitable room")] + [(r.id, r.name) for r in rooms]


class RoomForm(ClinicForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=60)])
    kind = EnumSelectField("Kind", RoomKind)
    active = BooleanField("In use (bookable)", default=True)
    version = VersionField(required=False)  # a new room has none; an edit must
    submit = SubmitField("Save room")


class HoursForm(ClinicForm):
    """A clinician's week: an optional start and end per weekday (clinic time)."""

    version = VersionField()  # the week's version (working_week), 0 before its first save
    submit = SubmitField("Save hours")


def add_day_fields(form_cls, weekdays):
    """A HoursForm subclass with start/end fields for each weekday."""
    attrs = {}
    for index, name in enumerate(weekdays):
        attrs[f"start_{index}"] = TimeField(f"{name} from", validators=[Optional()])
        attrs[f"end_{index}"] = TimeField(f"{name} until", validators=[Optional()])
    return type("WeekHoursForm", (form_cls,), attrs)


FEED_LIFETIMES = [
    (30, "30 days"),
    (90, "90 days"),
    (180, "180 days"),
    (365, "a year"),
    (0, "until switched off"),
]


class FeedForm(ClinicForm):
    """The feed's create and revoke buttons; a new link works for the chosen number of days."""

    lifetime = SelectField(
        "The link works for",
        choices=FEED_LIFETIMES,
        coerce=int,
        default=180,
        validators=[Optional()],
    )


class _Value:
    """A stand-in field carrying one value, to reuse a field validator on a parsed value."""

    def __init__(self, data) -> None:
        self.data = data


class RecallBookingForm(ClinicForm):
    """One click on a recall's suggested slot: the slot travels in hidden fields."""

    kind = HiddenField(validators=[DataRequired()])
    provider = HiddenField(validators=[DataRequired(), record_id])
    room = HiddenField(validators=[record_id])
    starts_at = HiddenField(validators=[DataRequired(), Length(max=40)])

    def validate_starts_at(self, field) -> None:
        try:
            starts_at = datetime.fromisoformat(field.data)
        except ValueError:
            raise ValidationError("Unknown time.") from None
        if starts_at.tzinfo is None:
            raise ValidationError("Unknown time.")
        clinic_date_range()(self, _Value(starts_at.date()))

    def validate_kind(self, field) -> None:
        if field.data not in (VisitKind.FOLLOW_UP.value, VisitKind.PHONE_CHECK.value):
            raise ValidationError("Unknown visit.")


class MoveForm(ClinicForm):
    """Move a visit from the week grid (by keyboard, or filled in by dragging)."""

    provider = SelectField("With", coerce=int, validators=[DataRequired()])
    day = DateField(
        "Date", validators=[DataRequired(message="Enter a real date."), clinic_date_range()]
    )
    start = TimeField(
        "Start time", validators=[DataRequired(message="Enter a time like 09:30."), _five_minutes]
    )
    version = VersionField()
    next = HiddenField()
    submit = SubmitField("Move")

    def set_choices(self, clinicians) -> None:
        self.provider.choices = [(c.id, c.full_name) for c in clinicians]
