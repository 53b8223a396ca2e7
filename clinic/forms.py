"""The base form every form uses: input is bounded here, at the edge, before any service sees it.

`ClinicForm` refuses control characters (tab and newline only in multi-line fields) and
bidirectional overrides, strips zero-width characters and the spaces around an e-mail address,
caps text a form left unbounded, keeps whole numbers and ids inside what the database holds and
dates inside a sane range. Each refusal is a message beside its field; the rest of the input is
kept for the re-rendered form.
"""

from __future__ import annotations

import decimal
import enum
import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from flask import abort
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeField,
    DecimalField,
    EmailField,
    Field,
    FloatField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectFieldBase,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, NumberRange, ValidationError

MAX_ID = 2**31 - 1  # PostgreSQL INTEGER: ids and whole numbers stay below it
MIN_INT = -(2**31)
SINGLE_LINE_MAX = 500  # for a one-line field that names no Length of its own
MULTI_LINE_MAX = 20000
DECIMAL_MAX = decimal.Decimal("99999999.99")  # NUMERIC(10, 2)
EARLIEST = date(1900, 1, 1)  # no date the clinic records lies outside these
LATEST = date(2100, 12, 31)

# Trojan-source characters: they reorder what a reader sees without changing what is stored.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Invisible characters that make two names look identical while comparing different.
ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u180e"))
MULTI_LINE_ALLOWED = frozenset("\t\n\r")


def text_problem(value: str, multi_line: bool) -> str | None:
    """Why this text cannot be kept (a message for beside the field), or None."""
    allowed = MULTI_LINE_ALLOWED if multi_line else frozenset()
    for char in value:
        if char in BIDI_CONTROLS:
            return "Remove the hidden text-direction characters (often pasted from elsewhere)."
        if char in allowed:
            continue
        if unicodedata.category(char) in ("Cc", "Cs") or char in "\u2028\u2029":
            if char in "\n\r\u2028\u2029":
                return "Keep this on one line."
            return "Remove the control characters (often pasted from elsewhere)."
    return None


def clean_text(value: str) -> str:
    """The text without zero-width characters."""
    return value.translate(ZERO_WIDTH)


def within(
    earliest: Callable[[], date] | date | None = None,
    latest: Callable[[], date] | date | None = None,
    message: str | None = None,
) -> Callable:
    """A validator keeping a date (or a datetime's date) between two days, computed per request."""

    def check(form, field) -> None:
        value = field.data
        if value is None:
            return
        day = value.date() if isinstance(value, datetime) else value
        low = earliest() if callable(earliest) else earliest
        high = latest() if callable(latest) else latest
        if low is not None and day < low:
            raise ValidationError(message or f"Enter a date from {low.isoformat()} on.")
        if high is not None and day > high:
            raise ValidationError(message or f"Enter a date up to {high.isoformat()}.")

    check.bounds_date = True  # type: ignore[attr-defined]
    return check


def days_from_today(days: int) -> Callable[[], date]:
    """A bound computed on the day the form is checked (negative: in the past)."""
    return lambda: date.today() + timedelta(days=days)


def clinic_date_range(years_back: int = 5, years_ahead: int = 5) -> Callable:
    """Days the clinic schedules and records: a few years either side of today (a day ahead
    at least, so that a time just after midnight in any time zone is accepted)."""
    return within(days_from_today(-365 * years_back), days_from_today(max(1, 365 * years_ahead)))


VERSION_PATTERN = re.compile(r"[0-9]{1,10}")


def whole_version(form, field) -> None:
    """A record version as the page handed it out: a whole number, never missing."""
    value = (field.data or "").strip()
    if not value:
        raise ValidationError("This page is out of date: reload it and try again.")
    if not VERSION_PATTERN.fullmatch(value) or int(value) > MAX_ID:
        raise ValidationError("This page was changed in transit: reload it and try again.")


def optional_whole_version(form, field) -> None:
    """A version that may be absent (a form shared by create and edit) but parses when given."""
    if (field.data or "").strip():
        whole_version(form, field)


def record_id(form, field) -> None:
    """Text holding a record id (hidden fields): blank, or a whole number the database can hold."""
    value = (field.data or "").strip()
    if value and not (VERSION_PATTERN.fullmatch(value) and 1 <= int(value) <= MAX_ID):
        raise ValidationError("This page was changed in transit: reload it and try again.")


def id_list(text: str | None) -> list[int] | None:
    """Ids a page listed in a hidden field ("4,5,6"), or None when the request sent none. The
    field's pattern has checked the digits; a blank (even all spaces) is no ids at all."""
    if text is None:
        return None
    return [int(part) for part in text.split(",") if part.strip()]


class VersionField(HiddenField):
    """The version of the record the form was loaded from; required and a whole number."""

    def __init__(self, label=None, validators=None, required: bool = True, **kwargs) -> None:
        check = whole_version if required else optional_whole_version
        super().__init__(label, [check, *(validators or [])], **kwargs)


class EnumSelectField(SelectField):
    """A select whose data is a member of `enum_cls` (choices from its `label`s), so routes and
    `populate_obj` get the enum itself and no view converts strings by hand.

    `blank` adds a first "choose" option; `describe` words an option (its `label` by default);
    a value that is no member is refused beside the field.
    """

    def __init__(
        self,
        label=None,
        enum_cls: type[enum.Enum] | None = None,
        *,
        blank: str | None = None,
        describe: Callable[[Any], str] | None = None,
        **kw,
    ) -> None:
        assert enum_cls is not None
        self.enum_cls = enum_cls
        describe = describe or (lambda m: getattr(m, "label", m.value))
        choices = [(m.value, describe(m)) for m in enum_cls]
        if blank is not None:
            choices.insert(0, ("", blank))
        super().__init__(label, choices=choices, coerce=self._member, **kw)

    def _member(self, value):
        if value is None or isinstance(value, self.enum_cls) or value == "":
            return value or None
        try:
            return self.enum_cls(value)
        except ValueError:
            return value  # not a member: pre_validate refuses it beside the field

    @property
    def code(self) -> str:
        """The chosen member's value as text (for links and hidden inputs), or ""."""
        return self.data.value if isinstance(self.data, enum.Enum) else (self.data or "")

    def pre_validate(self, form) -> None:
        if self.data is None and any(v == "" for v, _ in self.choices):
            return  # the blank choice: DataRequired/InputRequired decide whether that is allowed
        if not isinstance(self.data, self.enum_cls):
            raise ValidationError("Choose one of the options.")


def _has(field: Field, kind: type) -> bool:
    return any(isinstance(v, kind) for v in field.validators)


def _has_date_bounds(field: Field) -> bool:
    return any(getattr(v, "bounds_date", False) for v in field.validators)


def _is_select_int(field: Field) -> bool:
    return isinstance(field, SelectFieldBase) and getattr(field, "coerce", str) is int


class ClinicForm(FlaskForm):
    """FlaskForm with the app's edge rules applied to every field (see the module docstring)."""

    def validate(self, extra_validators=None) -> bool:
        """Clean text, run the form's own validators, then the edge rules every field obeys."""
        for field in self:
            text = isinstance(field, StringField) and not isinstance(field, PasswordField)
            if text and isinstance(field.data, str):
                field.data = clean_text(field.data)
            if isinstance(field, EmailField) and isinstance(field.data, str):
                field.data = field.data.strip()  # a pasted address often brings a space along
        valid = super().validate(extra_validators)
        if any(isinstance(f, VersionField) and f.errors for f in self):
            # A hidden version the page never sends this way: a tampered or broken request,
            # not something the user can correct beside a field.
            abort(400)
        for field in self:
            problem = self._edge_problem(field)
            if problem:
                if isinstance(field.errors, tuple):
                    field.errors = list(field.errors)
                if problem not in field.errors:
                    field.errors.append(problem)
                valid = False
        return valid

    @staticmethod
    def _edge_problem(field: Field) -> str | None:
        data = field.data
        if isinstance(field, StringField) and isinstance(data, str):
            multi_line = isinstance(field, TextAreaField)
            problem = text_problem(data, multi_line)
            if problem:
                return problem
            if not _has(field, Length):
                limit = MULTI_LINE_MAX if multi_line else SINGLE_LINE_MAX
                if len(data) > limit:
                    return f"Keep this under {limit} characters."
            return None
        whole = isinstance(field, IntegerField) and isinstance(data, int)
        if whole and not _has(field, NumberRange) and not MIN_INT <= data <= MAX_ID:
            return "Enter a smaller number."
        if isinstance(field, DecimalField | FloatField) and data is not None:
            number = decimal.Decimal(str(data))
            if not number.is_finite() or abs(number) > DECIMAL_MAX:
                return "Enter a number of a sensible size."
        if _is_select_int(field):
            values = data if isinstance(data, list | tuple) else [data]
            if any(isinstance(v, int) and not 0 <= v <= MAX_ID for v in values):
                return "Choose one of the options."
        if isinstance(field, DateField | DateTimeField) and isinstance(data, date):
            day = data.date() if isinstance(data, datetime) else data
            if not _has_date_bounds(field) and not EARLIEST <= day <= LATEST:
                return "Check the year: that date is out of range."
        return None
