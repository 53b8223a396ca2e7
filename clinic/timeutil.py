"""Clinic time: everything is stored in UTC and shown in the clinic's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app


def clinic_tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["CLINIC_TIMEZONE"])


def to_clinic(value: datetime) -> datetime:
    """A stored UTC time as the clinic's wall-clock time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(clinic_tz())


def clinic_today() -> date:
    return datetime.now(clinic_tz()).date()


def clinic_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants at which a clinic calendar day starts and the next one starts."""
    tz = clinic_tz()
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def format_clinic_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Jinja filter: a UTC time shown in the clinic's zone, with the zone's abbreviation."""
    if value is None:
        return ""
    local = to_clinic(value)
    return f"{local.strftime(fmt)} {local.tzname()}"
