"""Pages reached from a message without signing in (confirm / cancel / reschedule a visit,
stop messages) and the SMS provider's webhook for replies such as STOP."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, current_app, render_template, request
from markupsafe import escape

from clinic.admin.forms import ConfirmForm
from clinic.errors import Refused
from clinic.extensions import csrf, db, limiter
from clinic.messaging import bp, links, services, transports
from clinic.messaging.models import ReplyKind
from clinic.models import audit
from clinic.patients.models import Patient, phone_digits
from clinic.scheduling.models import Appointment
from clinic.transaction import attempt

STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
ACTIONS = {"confirm": ReplyKind.CONFIRMED, "cancel": ReplyKind.CANCELLED,
           "reschedule": ReplyKind.RESCHEDULE}  # fmt: skip


def _public_limit() -> str:
    return current_app.config["PORTAL_LINK_LIMIT_PER_ADDRESS"]


@bp.route("/m/visit/<int:appointment_id>/<token>", methods=["GET", "POST"])
@limiter.limit(_public_limit, methods=["POST"], scope="message-link")
def visit_link(appointment_id: int, token: str):
    """GET shows the visit and the choices; POST (with the CSRF token) acts, once."""
    link = links.find(appointment_id, token)
    appointment = db.session.get(Appointment, appointment_id) if link else None
    if link is None or appointment is None:
        return render_template("messaging/link_unusable.html"), 410
    form = ConfirmForm()
    done = None
    if request.method == "POST":
        action = request.form.get("action", "")
        if action not in ACTIONS or not form.validate_on_submit():
            abort(400)
        try:
            with attempt():
                links.act(appointment, token, ACTIONS[action])
        except Refused as err:
            return render_template("messaging/link_unusable.html", reason=err.message), 410
        done = ACTIONS[action]
    return render_template(
        "messaging/visit_link.html",
        appointment=appointment,
        form=form,
        done=done,
        rules=services.settings(),
    )


@bp.route("/m/stop/<token>", methods=["GET", "POST"])
@limiter.limit(_public_limit, methods=["POST"], scope="message-link")
def opt_out(token: str):
    patient = services.patient_for_opt_out(token)
    if patient is None:
        return render_template("messaging/link_unusable.html"), 410
    form = ConfirmForm()
    done = False
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        with attempt():
            services.opt_out(db.session, patient.id, "link in a message")
        done = True
    return render_template("messaging/opt_out.html", patient=patient, form=form, done=done)


def _twiml(text: str | None = None) -> Response:
    inner = f"<Message>{escape(text)}</Message>" if text else ""
    return Response(
        f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>',
        mimetype="application/xml",
    )


@bp.route("/messages/sms/inbound", methods=["POST"])
@csrf.exempt
def sms_inbound():
    """Twilio posts each reply here; only a correctly signed request is acted on."""
    # The address the provider signed: the public one, or (development) the one it called.
    base = (current_app.config["PUBLIC_BASE_URL"] or request.host_url).rstrip("/")
    url = base + request.full_path.rstrip("?")
    params = {key: request.form.get(key, "") for key in request.form}
    if not transports.signature_valid(
        current_app.config["TWILIO_AUTH_TOKEN"],
        url,
        params,
        request.headers.get("X-Twilio-Signature", ""),
    ):
        audit.record("messages.inbound_refused", actor=None, detail="bad or missing signature")
        abort(403)
    word = (params.get("Body") or "").strip().upper()
    digits = phone_digits(params.get("From"))
    patient_ids = (
        list(db.session.scalars(sa.select(Patient.id).where(Patient.phone_key == digits)))
        if digits
        else []
    )
    with attempt():
        if word in STOP_WORDS:
            for patient_id in patient_ids:
                services.opt_out(db.session, patient_id, "STOP reply", texts_only=True)
        elif word in START_WORDS:
            for patient_id in patient_ids:
                services.opt_in_texts(db.session, patient_id, "START reply")
        else:
            audit.record("messages.inbound_other", actor=None, patients=patient_ids)
    if word in STOP_WORDS or word in START_WORDS:
        return _twiml()  # the provider sends its own STOP / START confirmation
    return _twiml(
        f"This number does not read replies. Call {current_app.config['CLINIC_PHONE']} "
        "or write to us in the patient portal."
    )
