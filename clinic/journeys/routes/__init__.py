"""Journeys routes: worklist, chart and journeys, stage forms and actions, follow-ups, and the
admins' clinical catalogues (`admin.py`, its own `journeys_admin` blueprint)."""

from flask import g

from clinic.journeys import bp
from clinic.journeys.banner import banner_for
from clinic.policy import CLINICAL, restrict_blueprint

restrict_blueprint(bp, CLINICAL)


def _banner_once(patient):
    """The banner, worked out once per request (a page shows it and its safety panel)."""
    made = g.setdefault("patient_banners", {})
    if patient.id not in made:
        made[patient.id] = banner_for(patient)
    return made[patient.id]


@bp.app_context_processor  # every clinical page shows it, the outcomes wing's too
def _patient_banner() -> dict:
    return {"patient_banner": _banner_once}


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
