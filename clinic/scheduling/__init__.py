"""Scheduling wing: rooms, working hours, appointments, calendars, the day board (views in
`routes/`)."""

from flask import Blueprint

bp = Blueprint("scheduling", __name__, url_prefix="/schedule")
