"""Portal wing: patients' access (invitations, password resets) and their own pages."""

from flask import Blueprint

bp = Blueprint("portal", __name__)
