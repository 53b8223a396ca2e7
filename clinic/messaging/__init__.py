"""Patient messages: reminders and notices the clinic sends (planned by the scheduler, sent by
the job worker), confirm / cancel links, and secure messages between patients and their care
team. Views live in `routes/`."""

from flask import Blueprint

bp = Blueprint("messaging", __name__)
