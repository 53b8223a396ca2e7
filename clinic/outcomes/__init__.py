"""Outcomes wing: questionnaires defined as data, their scoring, and patients' progress."""

from flask import Blueprint

bp = Blueprint("outcomes", __name__)

from clinic.outcomes import routes  # noqa: E402,F401  - registers the views on bp
