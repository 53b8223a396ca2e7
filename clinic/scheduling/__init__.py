"""Scheduling wing: rooms, working hours, appointments, calendars, the day board."""

from flask import Blueprint

from clinic.policy import ALL_STAFF, restrict_blueprint

bp = Blueprint("scheduling", __name__, url_prefix="/schedule")
# The calendar feed is fetched by calendar apps, which carry its secret token, not a session.
restrict_blueprint(bp, ALL_STAFF, public=("scheduling.feed",))


@bp.app_template_filter("local_date")
def local_date(value) -> str:
    """A UTC time's clinic date as YYYY-MM-DD (for links and date fields)."""
    from clinic.timeutil import to_clinic

    return to_clinic(value).date().isoformat()


@bp.app_template_filter("local_hm")
def local_hm(value) -> str:
    """A UTC time's clinic wall-clock time as HH:MM."""
    from clinic.timeutil import to_clinic

    return to_clinic(value).strftime("%H:%M")


from clinic.scheduling import routes  # noqa: E402, F401  - registers the views on bp
from clinic.scheduling.board import LOCATION_SOURCES  # noqa: E402
from clinic.scheduling.journey_links import stage_locations  # noqa: E402

LOCATION_SOURCES.append(stage_locations)
