"""Instructions wing: versioned preparation and recovery instructions per therapy and phase."""

from flask import Blueprint

bp = Blueprint("instructions", __name__)
