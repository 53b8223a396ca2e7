"""Journeys routes: worklist, chart and journeys, stage forms and actions, follow-ups, and the
admins' clinical catalogues (`admin.py`, its own `journeys_admin` blueprint)."""

from clinic.journeys import bp
from clinic.journeys.banner import banner_once
from clinic.policy import CLINICAL, restrict_blueprint

restrict_blueprint(bp, CLINICAL)


@bp.app_context_processor  # every clinical page shows it, the outcomes wing's too
def _patient_banner() -> dict:
    return {"patient_banner": banner_once}


from clinic.journeys.routes import (  # noqa: E402,F401
    admin,
    chart,
    followups,
    safety,
    signing,
    stages,
    worklist,
)
from clinic.journeys.routes.admin import admin_bp  # noqa: E402,F401
