"""Follow-up recalls for the front desk: the list and one-click booking of a suggested slot."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from clinic.errors import Refused
from clinic.extensions import db
from clinic.inputs import query_id, query_int
from clinic.journeys.models import FollowUp
from clinic.models import audit
from clinic.models.base import utcnow
from clinic.patients import picker as patient_picker
from clinic.patients.models import Patient
from clinic.policy import can_book, ensure
from clinic.scheduling import bp, journey_links, recalls, services
from clinic.scheduling.forms import BookingForm, RecallBookingForm
from clinic.scheduling.models import VisitKind
from clinic.scheduling.queries import get_clinician, get_room
from clinic.scheduling.recall_rows import recall_list_page
from clinic.scheduling.routes.booking import _conflict_page
from clinic.timeutil import clinic_today, to_clinic
from clinic.transaction import attempt


@bp.route("/recalls")
def recalls_list():
    """Follow-ups due from the journeys' protocols and not yet booked, in due order."""
    ensure(can_book(current_user))
    show = request.args.get("show", "all")
    page = query_int("page", 1, low=1, high=100000)
    provider_id = query_id("provider")
    if show not in recalls.SHOW or page < 1:
        abort(400)
    patient_id = query_id("patient")
    patient = db.session.get(Patient, patient_id) if patient_id else None  # no query for none
    if patient_id and patient is None:
        abort(404)  # a list of everyone's follow-ups is not what was asked for
    today = clinic_today()
    clinicians = services.clinicians()
    row_macro = current_app.jinja_env.get_template("scheduling/_recall_row.html").module.row
    rows, total, shown = recall_list_page(
        today,
        utcnow(),
        show=show,
        provider_id=provider_id,
        page=page,
        patient_id=patient.id if patient else None,
        clinicians=clinicians,
        macro=row_macro,
        csrf=generate_csrf(),
    )
    audit.record_read("recalls.viewed", current_user, shown)
    return render_template(
        "scheduling/recalls.html",
        recall_rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // recalls.PAGE_SIZE)),
        show=show,
        provider_id=provider_id,
        providers=[c for c in clinicians if c.role.value == "provider"],
        today=today,
        form=RecallBookingForm(),
        picker=patient_picker.build(
            patient,
            action=url_for("scheduling.recalls_list"),
            keep=patient_picker.current_args("show", "provider"),
            label="Only one patient's follow-ups (optional)",
        ),
    )


def _booking_form(follow_up: FollowUp, kind, provider_id, room, starts_at) -> BookingForm:
    """The normal booking form filled with the recall's slot (shown with a clash)."""
    form = BookingForm(formdata=None)
    form.set_choices(services.clinicians(), services.active_rooms())
    journey_links.offer_links(form, follow_up.patient)
    local = to_clinic(starts_at)
    form.patient_mrn.data, form.kind.data = follow_up.patient.mrn, kind
    form.provider.data, form.room.data = provider_id, room.id if room else 0
    form.day.data, form.start.data = local.date(), local.time()
    form.link.data = f"follow_up:{follow_up.id}"
    return form


@bp.route("/recalls/<int:follow_up_id>/book", methods=["POST"])
def book_recall(follow_up_id: int):
    """Book the suggested slot through the normal booking service, linked to the follow-up."""
    ensure(can_book(current_user))
    follow_up = db.get_or_404(FollowUp, follow_up_id)
    form = RecallBookingForm()
    if not form.validate_on_submit():
        abort(400)
    provider = get_clinician(int(form.provider.data)) if form.provider.data.isdigit() else None
    room = get_room(int(form.room.data)) if (form.room.data or "").isdigit() else None
    try:
        starts_at = datetime.fromisoformat(form.starts_at.data)
    except ValueError:
        abort(400)
    if provider is None or starts_at.tzinfo is None:
        abort(400)
    starts_at = starts_at.astimezone(UTC)
    kind = VisitKind(form.kind.data)  # validate_kind allows only the recall's two kinds
    try:
        with attempt():
            appointment = services.book(
                patient=follow_up.patient,
                provider=provider,
                room=room,
                kind=kind,
                starts_at=starts_at,
                by=current_user,
                follow_up=follow_up,
                from_now=True,
            )
    except services.BookingConflict as conflict:
        booking = _booking_form(follow_up, kind, provider.id, room, starts_at)
        return _conflict_page(
            "scheduling/book.html",
            booking,
            conflict,
            original=None,
            form_action=url_for("scheduling.book"),
        )
    except Refused as err:
        flash(f"Nothing was booked. {err}", "warning")
        return redirect(url_for("scheduling.recalls_list"))
    flash(
        f"Booked: {appointment.kind.label} for {appointment.patient.full_name} "
        f"({follow_up.label}), {to_clinic(appointment.starts_at).strftime('%a %d %b %H:%M')} "
        f"with {appointment.provider.full_name}.",
        "success",
    )
    return redirect(url_for("scheduling.recalls_list"))
