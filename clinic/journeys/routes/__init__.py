"""Journeys routes: worklist, chart and journeys, stage forms and actions, follow-ups, and the
admins' clinical catalogues (`admin.py`, its own `journeys_admin` blueprint)."""

from clinic.journeys import bp
from clinic.policy import CLINICAL, restrict_blueprint

restrict_blueprint(bp, CLINICAL)

from clinic.journeys.routes import admin, chart, followups, stages, worklist  # noqa: E402,F401
from clinic.journeys.routes.admin import admin_bp  # noqa: E402,F401
