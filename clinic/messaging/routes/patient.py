"""The patient's secure messages with the care team, with office hours and emergency advice."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from clinic.auth.models import Role
from clinic.errors import Refused, show_beside
from clinic.extensions import db
from clinic.messaging import bp, inbox, services
from clinic.messaging.forms import NewThreadForm, ReplyForm
from clinic.messaging.models import Thread
from clinic.models import audit
from clinic.policy import require_roles
from clinic.submissions import once
from clinic.transaction import attempt


@bp.route("/my/messages", methods=["GET", "POST"])
@require_roles(Role.PATIENT)
@once
def my_messages():
    form = NewThreadForm()
    if form.validate_on_submit():
        try:
            with attempt():
                thread = inbox.start(
                    current_user, form.subject.data, form.title.data, form.body.data
                )
        except Refused as err:
            show_beside(form, err, "body")
        else:
            flash(
                "Your message is with your care team. We answer within one working day.", "success"
            )
            return redirect(url_for("messaging.my_thread", thread_id=thread.id))
    threads = db.session.scalars(
        sa.select(Thread)
        .where(Thread.patient_id == current_user.patient_id)
        .order_by(Thread.last_message_at.desc())
    ).all()
    return render_template(
        "messaging/my_messages.html", form=form, threads=threads, rules=services.settings()
    ), (422 if form.is_submitted() else 200)


@bp.route("/my/messages/<int:thread_id>", methods=["GET", "POST"])
@require_roles(Role.PATIENT)
@once
def my_thread(thread_id: int):
    thread = db.session.get(Thread, thread_id)
    if thread is None or thread.patient_id != current_user.patient_id:
        abort(404)  # another patient's thread is not there at all, for this patient
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            with attempt():
                inbox.reply(thread, current_user, form.body.data)
        except Refused as err:
            show_beside(form, err, "body")
        else:
            flash("Sent to your care team.", "success")
            return redirect(url_for("messaging.my_thread", thread_id=thread.id))
    elif thread.unread_by_patient:
        inbox.mark_read(thread, current_user)
    audit.record(
        "messages.thread_viewed", actor=current_user, obj=thread, patient_id=thread.patient_id
    )
    return render_template(
        "messaging/my_thread.html", thread=thread, form=form, rules=services.settings()
    ), (422 if form.is_submitted() else 200)
