"""Main wing: the landing page of each role and the health check."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from clinic.main import routes  # noqa: E402,F401
