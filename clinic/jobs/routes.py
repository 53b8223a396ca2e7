"""Admin: e-mail that has not been delivered yet, with a button to try again now."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from clinic import mail
from clinic.admin.forms import ConfirmForm
from clinic.extensions import db
from clinic.inputs import query_int
from clinic.jobs import bp, queue, worker  # noqa: F401  - worker: fills mail.INLINE_DELIVERY
from clinic.jobs.models import OutgoingMessage
from clinic.models import audit
from clinic.models.base import utcnow
from clinic.policy import ADMIN_ONLY, restrict_blueprint

restrict_blueprint(bp, ADMIN_ONLY)


@bp.route("")
def undelivered():
    page = db.paginate(queue.undelivered(), page=query_int("page", 1), per_page=50, error_out=False)
    return render_template(
        "jobs/undelivered.html",
        page=page,
        state=queue.state(db.session),
        now=utcnow(),
        form=ConfirmForm(),
        max_attempts=current_app.config["JOBS_MAX_ATTEMPTS"],
    )


@bp.route("/<int:message_id>/retry", methods=["POST"])
def retry(message_id: int):
    message = db.get_or_404(OutgoingMessage, message_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if queue.retry(db.session, message.id):
        audit.record("mail.retry_requested", actor=current_user, obj=message)
        mail.deliver_soon()
        flash("The message is queued again and will be sent shortly.", "success")
    else:
        flash("This message was delivered or is being sent right now.", "info")
    return redirect(url_for("jobs.undelivered"))
