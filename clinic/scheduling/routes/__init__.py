"""Scheduling routes, one module per screen family: booking and the appointment page,
the day board and calendars, rooms and working hours, calendar feeds, follow-up recalls."""

from clinic.policy import ALL_STAFF, restrict_blueprint
from clinic.scheduling import bp
from clinic.scheduling.board import LOCATION_SOURCES
from clinic.scheduling.journey_links import stage_locations

# The calendar feed is fetched by calendar apps, which carry its secret token, not a session.
restrict_blueprint(bp, ALL_STAFF, public=("scheduling.feed",))
# The day board learns where arrived patients are from their journey stages.
LOCATION_SOURCES.append(stage_locations)

from clinic.scheduling.routes import admin, board, booking, feeds, recalls  # noqa: E402,F401
