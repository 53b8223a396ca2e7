"""One date and time style for every page: Jinja filters in the clinic's locale and time zone.

Display filters (Babel, `CLINIC_LOCALE`; stored UTC times shown in `CLINIC_TIMEZONE`):
`date` (27 Nov 2026), `long_date` (Friday 27 November 2026, page headings), `short_date`
(27 Nov), `datetime` (27 Nov 2026, 14:30), `time` (14:30). Machine filters for links, form
values and `<time datetime>`: `iso` (2026-11-27), `local_date` and `local_hm` (a UTC time's
clinic date and HH:MM). `clinictime` stays as an alias of `datetime` for older templates.
`label` turns an enum (or a code string) into the words the clinic uses.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from functools import lru_cache

from babel import Locale
from babel.dates import DateTimePattern, format_date, match_skeleton, parse_pattern
from flask import Flask, current_app

from clinic.timeutil import clinic_tz, to_clinic

DEFAULT_LOCALE = "en_GB"


def _locale() -> str:
    return current_app.config.get("CLINIC_LOCALE", DEFAULT_LOCALE)


@lru_cache(maxsize=64)
def _skeleton(skeleton: str, locale: str) -> tuple[DateTimePattern, Locale]:
    """The locale's pattern for a skeleton, parsed once (as Babel's format_skeleton picks it;
    finding and parsing it on every call cost ~0.3 ms, most of a long list's render)."""
    found = Locale.parse(locale)
    if skeleton not in found.datetime_skeletons:
        skeleton = match_skeleton(skeleton, found.datetime_skeletons) or skeleton
    return parse_pattern(found.datetime_skeletons[skeleton]), found


@lru_cache(maxsize=16)
def _short_time(locale: str) -> tuple[DateTimePattern, Locale]:
    found = Locale.parse(locale)
    return parse_pattern(found.time_formats["short"]), found


@lru_cache(maxsize=4096)
def _day_text(skeleton: str, day: date, locale: str) -> str:
    """A day in a skeleton's pattern, formatted once: lists repeat the same few days, and
    Babel's formatting (month names looked up per call) cost ~40 µs each time."""
    pattern, found = _skeleton(skeleton, locale)
    return pattern.apply(day, found)


@lru_cache(maxsize=2048)
def _clock_text(clock: time, locale: str) -> str:
    pattern, found = _short_time(locale)
    return pattern.apply(clock, found)


def _day(value: date | datetime) -> date:
    """The clinic calendar day of a date, or of a stored UTC time."""
    if isinstance(value, datetime):
        return to_clinic(value).date()
    return value


def _clock(value: datetime | time) -> time:
    if isinstance(value, datetime):
        return to_clinic(value).time()
    return value


def fmt_date(value: date | datetime | None) -> str:
    """A day as the clinic writes it: 27 Nov 2026."""
    if value is None:
        return ""
    return _day_text("yMMMd", _day(value), _locale())


def fmt_long_date(value: date | datetime | None) -> str:
    """A day with its weekday, for headings: Friday 27 November 2026."""
    if value is None:
        return ""
    return format_date(_day(value), "full", locale=_locale())


def fmt_short_date(value: date | datetime | None) -> str:
    """A day in the current year's short form: 27 Nov."""
    if value is None:
        return ""
    return _day_text("MMMd", _day(value), _locale())


def fmt_time(value: datetime | time | None) -> str:
    """A wall-clock time in the clinic: 14:30."""
    if value is None:
        return ""
    return _clock_text(_clock(value), _locale())


def fmt_datetime(value: datetime | None) -> str:
    """A stored UTC moment as the clinic's day and time: 27 Nov 2026, 14:30."""
    if value is None:
        return ""
    local = to_clinic(value)
    return f"{fmt_date(local.date())}, {fmt_time(local.time())}"


def datetime_texts() -> Callable[[datetime], str]:
    """`fmt_datetime` for a page's many moments, with the zone and locale looked up once (the
    filter looks both up per call, ~5 µs of a long list's row)."""
    zone, locale = clinic_tz(), _locale()

    def text(value: datetime) -> str:
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        local = value.astimezone(zone)
        clock = time(local.hour, local.minute)  # what the short time shows (cached by minute)
        return f"{_day_text('yMMMd', local.date(), locale)}, {_clock_text(clock, locale)}"

    return text


def clinictime(value: datetime | None, fmt: str | None = None) -> str:
    """Older templates' filter: the style that matches what the strftime format asked for."""
    if fmt and "%H" not in fmt:
        return fmt_date(value)
    if fmt and "%d" not in fmt:
        return fmt_time(value)
    return fmt_datetime(value)


def iso(value: date | datetime | None) -> str:
    """A day as YYYY-MM-DD for links and form values (a UTC time: its clinic day)."""
    if value is None:
        return ""
    return _day(value).isoformat()


def local_hm(value: datetime) -> str:
    """A UTC time's clinic wall-clock time as HH:MM (for links and time fields)."""
    return _clock(value).strftime("%H:%M")


def label(value: object) -> str:
    """The words for an enum member or a stored code: "fluoroscopy" -> "Fluoroscopy"."""
    if value is None:
        return ""
    words = getattr(value, "label", None)
    if isinstance(words, str):
        return words
    if isinstance(value, enum.Enum):
        value = value.value
    text = str(value).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


FILTERS = {
    "date": fmt_date,
    "long_date": fmt_long_date,
    "short_date": fmt_short_date,
    "datetime": fmt_datetime,
    "time": fmt_time,
    "iso": iso,
    "local_date": iso,
    "local_hm": local_hm,
    "clinictime": clinictime,
    "label": label,
}


def register_date_filters(app: Flask) -> None:
    app.jinja_env.filters.update(FILTERS)
