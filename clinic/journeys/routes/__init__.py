"""Journeys routes: worklist, chart and journeys, stage forms and actions, follow-ups, and the
admins' clinical catalogues (`admin.py`, its own `journeys_admin` blueprint)."""

from clinic.journeys.routes import (  # noqa: F401
    admin,
    chart,
    followups,
    safety,
    stages,
    worklist,
)
