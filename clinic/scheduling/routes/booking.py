"""Booking, the appointment page and its status changes, rescheduling, the slot finder."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.dates import fmt_datetime
from clinic.errors import Refused, StaleWrite, show_beside
from clinic.extensions import db
from clinic.inputs import query_day, query_id
from clinic.models import audit
from clinic.models.base import utcnow
from clinic.patients import picker as patient_picker
from clinic.patients.models import Patient
from clinic.policy import can_book, can_set_appointment_status, ensure
from clinic.scheduling import bp, journey_links, services, slots
from clinic.scheduling.forms import (
    BookingForm,
    CancelForm,
    MoveForm,
    RescheduleForm,
    SlotSearchForm,
    StatusForm,
)
from clinic.scheduling.models import Appointment, Status, VisitKind
from clinic.scheduling.queries import get_clinician, get_room
from clinic.scheduling.states import ACTION_LABELS, TRANSITIONS
from clinic.submissions import once
from clinic.timeutil import clinic_today, clinic_tz, to_clinic
from clinic.transaction import attempt


def get_appointment(appointment_id: int) -> Appointment:
    return db.get_or_404(Appointment, appointment_id)


def _patient_by_mrn(mrn: str | None) -> Patient | None:
    return patient_picker.by_mrn(mrn)


BOOKING_ARGS = ("kind", "provider", "room", "date", "time", "link")


def _picker_for(form) -> patient_picker.Picker:
    """The patient picker of the booking page: who is being booked, shown before "Book"."""
    field = form.patient_mrn
    return patient_picker.build(
        _patient_by_mrn(field.data),
        action=url_for("scheduling.book"),
        keep=patient_picker.current_args(*BOOKING_ARGS),
        error=" ".join(field.errors) or None,
        label="Patient being booked",
    )


def warn_if_outside_hours(appointment: Appointment) -> None:
    """The same note after a booking and after a move: outside the clinician's hours."""
    if not slots.within_hours(appointment.provider, appointment.starts_at, appointment.ends_at):
        flash(
            f"Note: this is outside {appointment.provider.full_name}'s working hours.",
            "warning",
        )


def local_to_utc(day: date, start) -> datetime | None:
    """A clinic wall-clock time as UTC; None when the clock skips it (spring-forward gap)."""
    local = datetime.combine(day, start, tzinfo=clinic_tz())
    moment = local.astimezone(UTC)
    return moment if to_clinic(moment).replace(tzinfo=None) == local.replace(tzinfo=None) else None


def _prefill(form: BookingForm) -> None:
    args = request.args
    patient = db.session.get(Patient, query_id("patient") or 0)
    if patient:
        form.patient_mrn.data = patient.mrn
    elif args.get("mrn"):
        form.patient_mrn.data = args["mrn"][:20]
    if args.get("kind") in {k.value for k in VisitKind}:
        form.kind.data = VisitKind(args["kind"])
    form.provider.data = query_id("provider")
    form.room.data = query_id("room") or 0
    journey_links.offer_links(form, patient or _patient_by_mrn(form.patient_mrn.data))
    form.link.data = args.get("link", "")
    form.day.data = query_day("date", clinic_today(), strict=False)
    try:
        form.start.data = datetime.strptime(args.get("time", ""), "%H:%M").time()
    except ValueError:
        form.start.data = None
    today, mark = services.next_start_mark()
    if form.start.data is not None and form.day.data == today and form.start.data < mark:
        form.start.data = mark  # free time that began earlier today is booked from now


def _suggested_time(form: BookingForm) -> None:
    """A suggested slot (from a conflict page) in the query string replaces the day and time."""
    try:
        day = query_day("date", strict=False)
        form.start.data = datetime.strptime(request.args["time"], "%H:%M").time()
    except (KeyError, ValueError):
        return
    form.day.data = day or form.day.data
    form.room.data = query_id("room") or form.room.data


def _read_booking(form: BookingForm):
    """The entered booking as models and UTC times; errors go beside their fields."""
    patient = _patient_by_mrn(form.patient_mrn.data)
    if patient is None:
        form.patient_mrn.errors.append("No patient has this MRN.")
    provider = get_clinician(form.provider.data)
    room = get_room(form.room.data) if form.room.data else None
    starts_at = local_to_utc(form.day.data, form.start.data)
    if starts_at is None:
        form.start.errors.append("This time does not exist on that day (the clocks go forward).")
    if patient is None or starts_at is None or provider is None:
        return None
    links = {}
    if "link" in form:
        links = journey_links.read_link(form, patient)
        if links is None:
            return None
    kind = form.kind.data
    length = timedelta(minutes=form.minutes.data) if form.minutes.data else kind.default_length
    return dict(
        patient=patient,
        provider=provider,
        room=room,
        kind=kind,
        starts_at=starts_at,
        ends_at=starts_at + length,
        **links,
    )


def _conflict_page(template: str, form, conflict: services.BookingConflict, **context):
    if context.get("original") is None and "picker" not in context:
        context["picker"] = _picker_for(form)
    return render_template(
        template, form=form, clashes=conflict.clashes, suggestions=conflict.suggestions, **context
    ), 409


@bp.route("/book", methods=["GET", "POST"])
@once
def book():
    ensure(can_book(current_user))
    form = BookingForm()
    form.set_choices(services.clinicians(), services.active_rooms())
    if request.method == "GET":
        _prefill(form)
    else:
        journey_links.offer_links(form, _patient_by_mrn(form.patient_mrn.data))
    if request.method == "POST" and form.validate_on_submit():
        booking = _read_booking(form)
        if booking is not None:
            try:
                with attempt():
                    appointment = services.book(
                        notes=form.notes.data, by=current_user, from_now=True, **booking
                    )
            except services.BookingConflict as conflict:
                return _conflict_page("scheduling/book.html", form, conflict, original=None)
            except Refused as err:
                show_beside(form, err, "start")
            else:
                warn_if_outside_hours(appointment)
                flash(
                    f"Booked: {appointment.kind.label} for {appointment.patient.full_name}, "
                    f"{to_clinic(appointment.starts_at).strftime('%a %d %b %H:%M')}.",
                    "success",
                )
                return redirect(url_for("scheduling.appointment", appointment_id=appointment.id))
    status = 422 if form.errors else 200
    return render_template(
        "scheduling/book.html",
        form=form,
        clashes=[],
        suggestions=[],
        original=None,
        picker=_picker_for(form),
    ), status


@bp.route("/appointments/<int:appointment_id>")
def appointment(appointment_id: int):
    appt = get_appointment(appointment_id)
    audit.record("appointment.viewed", actor=current_user, obj=appt, patient_id=appt.patient_id)
    actions = services.available_actions(appt, current_user)
    return render_template(
        "scheduling/appointment.html",
        appt=appt,
        actions=actions,
        labels=ACTION_LABELS,
        status_form=StatusForm(),
        cancel_form=CancelForm(version=appt.version),
        can_book=can_book(current_user),
        can_cancel=can_book(current_user) and Status.CANCELLED in _reachable(appt),
    )


def _reachable(appt: Appointment):

    return TRANSITIONS[appt.status]


def _safe_next(target: str | None, default: str) -> str:
    """Only our own board or calendar pages are followed after an action."""
    if target and target.startswith("/schedule/") and "//" not in target and "\\" not in target:
        return target
    return default


@bp.route("/appointments/<int:appointment_id>/status", methods=["POST"])
def set_status(appointment_id: int):
    appt = get_appointment(appointment_id)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    target = Status(form.target.data)
    ensure(can_set_appointment_status(current_user, target.value))
    back = _safe_next(form.next.data, url_for("scheduling.appointment", appointment_id=appt.id))
    if form.version.data and form.version.data != str(appt.version):
        flash(
            f"This appointment had changed meanwhile; it is now {appt.status.label.lower()}. "
            "Nothing was changed.",
            "warning",
        )
        return redirect(back)
    try:
        with attempt():
            services.change_status(appt, target, by=current_user)
    except StaleWrite:
        flash(
            "Someone else changed this appointment at the same moment. Nothing was changed.",
            "warning",
        )
    except Refused as err:
        flash(str(err), "warning")
    else:
        flash(f"{appt.patient.full_name}: {target.label.lower()}.", "success")
    return redirect(back)


@bp.route("/appointments/<int:appointment_id>/cancel", methods=["POST"])
def cancel(appointment_id: int):
    ensure(can_book(current_user))
    appt = get_appointment(appointment_id)
    form = CancelForm()
    if form.validate_on_submit():
        if form.version.data != str(appt.version):
            flash(
                "This appointment had changed meanwhile. Check it and cancel again if needed.",
                "warning",
            )
            return redirect(url_for("scheduling.appointment", appointment_id=appt.id))
        try:
            with attempt():
                services.change_status(
                    appt, Status.CANCELLED, by=current_user, reason=form.reason.data
                )
        except StaleWrite:
            flash(
                "Someone else changed this appointment at the same moment. Nothing was changed.",
                "warning",
            )
            return redirect(url_for("scheduling.appointment", appointment_id=appt.id))
        except Refused as err:
            show_beside(form, err, "reason")
        else:
            flash("Appointment cancelled; the time is free again.", "success")
            return redirect(url_for("scheduling.appointment", appointment_id=appt.id))
    return render_template(
        "scheduling/appointment.html",
        appt=appt,
        actions=[],
        labels=ACTION_LABELS,
        status_form=StatusForm(),
        cancel_form=form,
        can_book=True,
        can_cancel=True,
    ), 422


@bp.route("/appointments/<int:appointment_id>/reschedule", methods=["GET", "POST"])
def reschedule(appointment_id: int):
    ensure(can_book(current_user))
    original = get_appointment(appointment_id)
    form = RescheduleForm()
    form.set_choices(services.clinicians(), services.active_rooms())
    why = services.move_refusal(original) if request.method == "GET" else None
    stale = False
    if why:  # said at once, not after the whole form is filled in
        flash(f"This appointment can no longer be moved. {why}", "info")
        return redirect(url_for("scheduling.appointment", appointment_id=original.id))
    if request.method == "GET":
        local = to_clinic(original.starts_at)
        form.patient_mrn.data, form.kind.data = original.patient.mrn, original.kind
        form.provider.data, form.room.data = original.provider_id, original.room_id or 0
        form.day.data, form.start.data = local.date(), local.time()
        form.minutes.data, form.notes.data = original.length_minutes, original.notes
        form.version.data = str(original.version)
        _suggested_time(form)
    elif form.validate_on_submit():
        form.patient_mrn.data, form.kind.data = original.patient.mrn, original.kind
        booking = _read_booking(form)
        if form.version.data != str(original.version):
            # 409: what the visit is now beside the entry kept; saving again applies the entry
            # to the visit as it is now
            stale = True
            form.version.data = str(original.version)
            now = (
                f"{fmt_datetime(original.starts_at)} with {original.provider.full_name}"
                f"{', ' + original.room.name if original.room else ''} "
                f"({original.status.label.lower()})"
            )
            why = services.move_refusal(original)  # moved or cancelled meanwhile: say so
            if original.rescheduled_to is not None:
                why = f"It was moved to {fmt_datetime(original.rescheduled_to.starts_at)}."
            form.start.errors.append(
                f"This appointment changed while you were editing it: it is now {now}. "
                + (why or "Check your entry and save again.")
            )
        elif booking is not None:
            try:
                with attempt():
                    new = services.reschedule(
                        original,
                        provider=booking["provider"],
                        room=booking["room"],
                        starts_at=booking["starts_at"],
                        ends_at=booking["ends_at"],
                        notes=form.notes.data,
                        by=current_user,
                        from_now=True,
                    )
            except services.BookingConflict as conflict:
                return _conflict_page("scheduling/book.html", form, conflict, original=original)
            except Refused as err:
                field = getattr(form, getattr(err, "field", None) or "start", None) or form.start
                field.errors.append(str(err))
            else:
                if new is original:  # a visit under way: its room and notes changed in place
                    flash("Room and notes saved.", "success")
                else:
                    warn_if_outside_hours(new)
                    flash("Appointment moved; the old time is free again.", "success")
                return redirect(url_for("scheduling.appointment", appointment_id=new.id))
    status = 409 if stale else 422 if form.errors else 200
    return render_template(
        "scheduling/book.html", form=form, clashes=[], suggestions=[], original=original
    ), status


@bp.route("/appointments/<int:appointment_id>/move", methods=["POST"])
def move(appointment_id: int):
    """Move a visit from the week grid: same length and room, the same clash checks as
    booking, and the same note when the new time is outside the clinician's hours."""
    ensure(can_book(current_user))
    original = get_appointment(appointment_id)
    form = MoveForm()
    form.set_choices(services.clinicians())
    back = _safe_next(form.next.data, url_for("scheduling.week"))
    if not form.validate_on_submit():
        problems = "; ".join(
            f"{form[name].label.text}: {' '.join(errs)}"
            for name, errs in form.errors.items()
            if name in form
        )
        flash(f"Not moved. {problems or 'Check the time and try again.'}", "warning")
        return redirect(back)
    if form.version.data != str(original.version):
        flash("Not moved: this visit changed meanwhile. Check it and move it again.", "warning")
        return redirect(back)
    provider = get_clinician(form.provider.data)
    starts_at = local_to_utc(form.day.data, form.start.data)
    if provider is None or starts_at is None:
        flash("Not moved: that time does not exist on that day.", "warning")
        return redirect(back)
    try:
        with attempt():
            new = services.reschedule(
                original,
                provider=provider,
                room=original.room,
                starts_at=starts_at,
                ends_at=starts_at + (original.ends_at - original.starts_at),
                notes=original.notes,
                by=current_user,
                from_now=True,
            )
    except services.BookingConflict as conflict:
        taken = ", ".join(
            f"{c.patient.display_name} {to_clinic(c.starts_at).strftime('%H:%M')}"
            for c in conflict.clashes
        )
        flash(f"Not moved: that time is taken ({taken or 'booked at the same moment'}).", "danger")
        return redirect(back)
    except (Refused, StaleWrite) as err:
        flash(f"Not moved. {err}", "warning")
        return redirect(back)
    warn_if_outside_hours(new)
    flash(
        f"Moved: {new.patient.full_name}, {new.kind.label.lower()} with {new.provider.full_name}, "
        f"now {to_clinic(new.starts_at).strftime('%a %d %b %H:%M')}.",
        "success",
    )
    return redirect(back)


@bp.route("/slots")
def find_slots():
    form = SlotSearchForm(request.args)
    clinicians, rooms = services.clinicians(), services.active_rooms()
    form.set_choices(clinicians, rooms)
    results = None
    patient = db.session.get(Patient, query_id("patient") or 0) or _patient_by_mrn(
        form.patient_mrn.data
    )
    form.patient_mrn.data = patient.mrn if patient else ""
    picker = patient_picker.build(
        patient,
        action=url_for("scheduling.find_slots"),
        keep=patient_picker.current_args("kind", "provider", "room", "day"),
        label="Patient (optional)",
    )
    if "kind" in request.args:
        if not form.validate():
            abort(400)
        kind = form.kind.data
        providers = [c for c in clinicians if not form.provider.data or c.id == form.provider.data]
        providers = [
            p for p in providers if kind is VisitKind.PHONE_CHECK or p.role.value == "provider"
        ]
        suitable = [r for r in rooms if r.kind in kind.room_kinds]
        chosen = [r for r in suitable if not form.room.data or r.id == form.room.data]
        day = form.day.data or clinic_today()
        after = max(
            utcnow(), datetime.combine(day, datetime.min.time(), clinic_tz()).astimezone(UTC)
        )
        results = slots.find_slots(
            kind,
            providers=providers,
            rooms=chosen if kind.needs_room or form.room.data else [],
            patient=patient,
            after=after,
            limit=15,
        )
    return render_template(
        "scheduling/slots.html",
        form=form,
        results=results,
        can_book=can_book(current_user),
        picker=picker,
    )
