"""Messaging routes: admins' templates and settings (`admin.py`), staff views and the team
inbox (`staff.py`), the patient's secure messages (`patient.py`), and the pages reached from a
message without signing in, with the SMS provider's webhook (`public.py`)."""

from flask_login import current_user

from clinic.jobs import worker as jobs_worker
from clinic.messaging import bp, inbox, links
from clinic.messaging.scheduler import WorkerPass
from clinic.policy import ALL_STAFF, PATIENTS, restrict_blueprint

# Each view also names its own roles (require_roles); the public pages check a secret of their own.
restrict_blueprint(
    bp,
    ALL_STAFF | PATIENTS,
    public=("messaging.visit_link", "messaging.opt_out", "messaging.sms_inbound"),
)

# `flask worker` plans and sends patient messages on each turn of its loop.
if not any(isinstance(p, WorkerPass) for p in jobs_worker.PASSES):
    jobs_worker.PASSES.append(WorkerPass())


@bp.app_template_global()
def patient_replies(appointments) -> dict:
    """The patients' answers (confirmed, cancelled, reschedule) to the visits on a list, by
    appointment id: one query for the whole list."""
    return links.replies_for([a.id for a in appointments])


@bp.app_template_global()
def urgent_threads():
    """Urgent, unanswered messages this clinician may see (top of the worklist)."""
    if not current_user.is_authenticated:
        return []
    return inbox.urgent_for(current_user)


from clinic.messaging.routes import admin, patient, public, staff  # noqa: E402,F401
