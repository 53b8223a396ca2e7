"""Care-team wing: assignments to a journey, break-glass access and its offer page."""

from flask import Blueprint

import clinic.journeys  # noqa: F401  - loaded first: its routes read this wing's services
from clinic.auth.models import Role
from clinic.policy import restrict_blueprint

bp = Blueprint("careteam", __name__, url_prefix="/care-team")
restrict_blueprint(bp, {Role.ADMIN, Role.PROVIDER, Role.CLINICAL_STAFF})

from clinic.careteam import routes  # noqa: E402,F401
