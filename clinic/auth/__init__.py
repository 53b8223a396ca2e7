"""Auth wing: sign-in, sign-out, own password, and the session rules."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from clinic.auth import account, routes  # noqa: E402,F401
