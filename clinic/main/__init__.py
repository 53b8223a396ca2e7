"""Main wing: the landing page of each role and the health check."""

from flask import Blueprint

bp = Blueprint("main", __name__)
