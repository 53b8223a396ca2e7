"""Portal wing: patients' access (invitations, password resets) and their own pages."""

from flask import Blueprint

bp = Blueprint("portal", __name__)

from clinic.portal import routes_access, routes_public  # noqa: E402,F401
