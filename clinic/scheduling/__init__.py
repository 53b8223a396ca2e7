"""Scheduling wing: rooms, working hours, appointments, calendars, the day board."""

from flask import Blueprint

from clinic.policy import ALL_STAFF, restrict_blueprint

bp = Blueprint("scheduling", __name__, url_prefix="/schedule")
restrict_blueprint(bp, ALL_STAFF)

from clinic.scheduling import admin_routes, board_routes, routes  # noqa: E402, F401
