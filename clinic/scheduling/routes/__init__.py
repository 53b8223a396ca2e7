"""Scheduling routes, one module per screen family: booking and the appointment page,
the day board and calendars, rooms and working hours, calendar feeds, follow-up recalls."""

from clinic.scheduling.routes import admin, board, booking, feeds, recalls  # noqa: F401
