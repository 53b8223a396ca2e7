"""Auth wing: sign-in, sign-out, own password, and the session rules."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from clinic.auth import routes  # noqa: E402,F401
from clinic.auth import account  # noqa: E402,F401
