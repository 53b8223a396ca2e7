"""Work that must not run inside a request (e-mail now, reminders next): a queue in the
database (`queue.py`), the worker that drains it (`worker.py`) and the admin page of
undelivered messages (`routes.py`)."""

from flask import Blueprint

from clinic.policy import ADMIN_ONLY, restrict_blueprint

bp = Blueprint("jobs", __name__, url_prefix="/admin/messages")
restrict_blueprint(bp, ADMIN_ONLY)

from clinic.jobs import routes  # noqa: E402, F401
