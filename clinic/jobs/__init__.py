"""Work that must not run inside a request (e-mail now, reminders next): a queue in the
database (`queue.py`), the worker that drains it (`worker.py`) and the admin page of
undelivered messages (`routes.py`)."""

from flask import Blueprint

bp = Blueprint("jobs", __name__, url_prefix="/admin/messages")
