"""Patient registration, editing, search and the demographics page."""

from flask import Blueprint

from clinic.policy import ALL_STAFF, restrict_blueprint

bp = Blueprint("patients", __name__, url_prefix="/patients")
restrict_blueprint(bp, ALL_STAFF)
