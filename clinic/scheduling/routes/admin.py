"""Admin screens for rooms and clinicians' working hours."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from clinic.errors import Refused, StaleWrite, show_beside
from clinic.extensions import db
from clinic.policy import can_manage_resources, ensure
from clinic.scheduling import bp, resources, services
from clinic.scheduling.forms import HoursForm, RoomForm, add_day_fields
from clinic.scheduling.models import WEEKDAYS, Room
from clinic.scheduling.queries import get_clinician
from clinic.scheduling.slots import hours_by_clinician
from clinic.submissions import once
from clinic.transaction import attempt

WeekHoursForm = add_day_fields(HoursForm, WEEKDAYS)


@bp.route("/rooms")
def rooms():
    ensure(can_manage_resources(current_user))
    all_rooms = db.session.scalars(sa.select(Room).order_by(Room.active.desc(), Room.name)).all()
    return render_template("scheduling/rooms.html", rooms=all_rooms)


@bp.route("/rooms/new", methods=["GET", "POST"])
@bp.route("/rooms/<int:room_id>/edit", methods=["GET", "POST"])
@once
def edit_room(room_id: int | None = None):
    ensure(can_manage_resources(current_user))
    room = db.get_or_404(Room, room_id) if room_id else None
    form = RoomForm(obj=room if request.method == "GET" else None)
    if request.method == "GET" and room is not None:
        form.kind.data, form.version.data = room.kind, str(room.version)
    conflict = False
    if form.validate_on_submit():
        if room is not None and form.version.data != str(room.version):
            conflict = True
        else:
            try:
                with attempt():
                    resources.save_room(
                        room,
                        name=form.name.data,
                        kind=form.kind.data,
                        active=form.active.data,
                        by=current_user,
                    )
            except StaleWrite:
                conflict = True
            except Refused as err:
                show_beside(form, err, "name")
            else:
                flash("Room saved.", "success")
                return redirect(url_for("scheduling.rooms"))
    if conflict:
        db.session.refresh(room)
        form.version.data = str(room.version)
        return render_template(
            "scheduling/room_form.html", form=form, room=room, conflict=True
        ), 409
    status = 422 if form.errors else 200
    return render_template(
        "scheduling/room_form.html", form=form, room=room, conflict=False
    ), status


@bp.route("/hours")
def hours():
    ensure(can_manage_resources(current_user))
    people = services.clinicians()
    return render_template(
        "scheduling/hours.html",
        people=people,
        hours=hours_by_clinician([p.id for p in people]),
        weekdays=WEEKDAYS,
    )


def _stale_hours(form, clinician):
    """Someone saved this week since the form was opened: show theirs, keep ours (409)."""
    form.version.data = str(resources.week_version(clinician.id))
    saved = hours_by_clinician([clinician.id]).get(clinician.id, {})
    rows = [
        (
            name,
            f"{saved[day].starts:%H:%M}–{saved[day].ends:%H:%M}" if day in saved else "day off",
        )
        for day, name in enumerate(WEEKDAYS)
    ]
    return render_template(
        "scheduling/hours_form.html",
        form=form,
        clinician=clinician,
        weekdays=WEEKDAYS,
        conflict=rows,
    ), 409


@bp.route("/hours/<int:clinician_id>", methods=["GET", "POST"])
def edit_hours(clinician_id: int):
    ensure(can_manage_resources(current_user))
    clinician = get_clinician(clinician_id) or abort(404)
    current = hours_by_clinician([clinician.id]).get(clinician.id, {})
    form = WeekHoursForm()
    saved_version = str(resources.week_version(clinician.id))
    if request.method == "GET":
        form.version.data = saved_version
        for weekday, row in current.items():
            getattr(form, f"start_{weekday}").data = row.starts
            getattr(form, f"end_{weekday}").data = row.ends
    elif form.validate_on_submit() and form.version.data != saved_version:
        return _stale_hours(form, clinician)
    elif form.is_submitted() and not form.errors:
        week = {}
        for weekday in range(7):
            start, end = (
                getattr(form, f"start_{weekday}").data,
                getattr(form, f"end_{weekday}").data,
            )
            if (start is None) != (end is None):
                getattr(
                    form, f"end_{weekday}" if end is None else f"start_{weekday}"
                ).errors.append("Give both times, or neither for a day off.")
            week[weekday] = (start, end) if start and end else None
        if not form.errors:
            try:
                with attempt():
                    resources.set_week_hours(
                        clinician, week, version=int(saved_version), by=current_user
                    )
            except StaleWrite:
                return _stale_hours(form, clinician)
            except Refused as err:
                show_beside(form, err)
            else:
                flash(f"Working hours saved for {clinician.full_name}.", "success")
                return redirect(url_for("scheduling.hours"))
    status = 422 if form.errors else 200
    return render_template(
        "scheduling/hours_form.html", form=form, clinician=clinician, weekdays=WEEKDAYS
    ), status
