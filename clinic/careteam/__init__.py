"""Care-team wing: assignments to a journey, break-glass access and its offer page (views in
`routes.py`)."""

from flask import Blueprint

bp = Blueprint("careteam", __name__, url_prefix="/care-team")
