"""Admin wing: user accounts, the audit trail and break-glass review (views in `routes/`)."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")
