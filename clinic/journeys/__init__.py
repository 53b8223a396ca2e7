"""Journeys wing: the clinical journey of a patient, stage by stage, for the clinical team."""

from flask import Blueprint

from clinic.policy import CLINICAL, restrict_blueprint

bp = Blueprint("journeys", __name__, url_prefix="/clinical")
restrict_blueprint(bp, CLINICAL)

from clinic.journeys import routes  # noqa: E402,F401  - registers the views on bp
from clinic.journeys.banner import banner_for  # noqa: E402


@bp.context_processor
def _patient_banner() -> dict:
    return {"patient_banner": banner_for}


from clinic.journeys.routes.admin import admin_bp  # noqa: E402,F401
