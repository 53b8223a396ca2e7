"""Admin routes: accounts (`users.py`), the audit trail and its export (`audit_trail.py`),
break-glass review (`break_glass.py`). Admins only."""

from clinic.admin import bp
from clinic.policy import ADMIN_ONLY, restrict_blueprint

restrict_blueprint(bp, ADMIN_ONLY)

from clinic.admin.routes import audit_trail, break_glass, merges, users  # noqa: E402,F401
