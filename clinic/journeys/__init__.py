"""Journeys wing: the clinical journey of a patient, stage by stage, for the clinical team."""

from flask import Blueprint

bp = Blueprint("journeys", __name__, url_prefix="/clinical")
