"""Portal wing: patients' access (invitations, password resets) and their own pages."""

from flask import Blueprint

bp = Blueprint("portal", __name__)

from clinic.portal import routes  # noqa: E402,F401  - registers the views on bp
