"""Scheduling wing: rooms, working hours, appointments, calendars, the day board (views in
`routes/`)."""

from flask import Blueprint

from clinic.timeutil import to_clinic

bp = Blueprint("scheduling", __name__, url_prefix="/schedule")


@bp.app_template_filter("local_date")
def local_date(value) -> str:
    """A UTC time's clinic date as YYYY-MM-DD (for links and date fields)."""
    return to_clinic(value).date().isoformat()


@bp.app_template_filter("local_hm")
def local_hm(value) -> str:
    """A UTC time's clinic wall-clock time as HH:MM."""
    return to_clinic(value).strftime("%H:%M")
