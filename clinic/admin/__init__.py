"""Admin wing: user accounts, the audit trail and break-glass review."""

from flask import Blueprint

from clinic.policy import ADMIN_ONLY, restrict_blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
restrict_blueprint(bp, ADMIN_ONLY)

from clinic.admin import audit_trail, break_glass, routes  # noqa: E402,F401
