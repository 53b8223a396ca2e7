"""Calendars (day by clinician or room, week), the day board, the printable list, iCalendar."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Response, abort, current_app, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from clinic.auth.models import Role
from clinic.auth.sessions import passive
from clinic.inputs import query_day, query_id
from clinic.models import audit
from clinic.models.base import utcnow
from clinic.policy import can_book, can_export_calendar, ensure
from clinic.reads import patients_of
from clinic.scheduling import bp, export, services
from clinic.scheduling.board import locations
from clinic.scheduling.board_rows import BoardRows
from clinic.scheduling.calendar import Column, build_grid
from clinic.scheduling.day_cells import grid_body
from clinic.scheduling.models import WEEKDAYS, Status
from clinic.scheduling.queries import (
    appointments_between,
    appointments_on,
    clinicians_on,
    day_rows,
    get_clinician,
    get_room,
)
from clinic.scheduling.slots import hours_by_clinician
from clinic.scheduling.week_grid import week_days
from clinic.timeutil import clinic_day_bounds, clinic_today, to_clinic


def _day_arg() -> date:
    return query_day("date", clinic_today()) or clinic_today()


@bp.route("/day")
def day():
    """One day, a column per clinician (or per room with view=rooms)."""
    view = request.args.get("view", "providers")
    if view not in ("providers", "rooms"):
        abort(400)
    the_day = _day_arg()
    appointments = day_rows(the_day)
    if view == "rooms":
        columns = [Column(r.id, r.name) for r in services.active_rooms()]
        grid = build_grid(the_day, columns, appointments, lambda a: a.room_id)
        for column in grid.columns:  # rooms have no hours: every empty quarter is bookable
            column.cells = {k: ("free" if v == "off" else v) for k, v in column.cells.items()}
    else:
        busy = {a.provider_id for a in appointments}
        columns = [
            Column(c.id, c.full_name, c.hours)
            for c in clinicians_on(the_day)
            if c.hours is not None or c.id in busy
        ]
        grid = build_grid(the_day, columns, appointments, lambda a: a.provider_id)
    audit.record_read("schedule.day_viewed", current_user, patients_of(appointments))
    booking = can_book(current_user)
    cells = current_app.jinja_env.get_template("scheduling/_day_cells.html").module
    return render_template(
        "scheduling/day.html",
        grid=grid,
        grid_body=grid_body(grid, cells, can_book=booking, rooms=view == "rooms"),
        view=view,
        day=the_day,
        prev_day=the_day - timedelta(days=1),
        next_day=the_day + timedelta(days=1),
        cancelled=[a for a in appointments if a.status is Status.CANCELLED],
    )


def _start_mark() -> tuple[str, str]:
    """Today and the next five-minute mark as the week grid's cells write them (week.js)."""
    day, mark = services.next_start_mark()
    return day.isoformat(), mark.strftime("%H:%M")


def _week_grid(monday: date):
    """Every clinician's week: working hours, visits, free time; visits move by drag or form."""
    people = services.clinicians()
    booking = can_book(current_user)
    days, shown = week_days(monday, people, hours_by_clinician([p.id for p in people]), booking)
    audit.record_read("schedule.week_viewed", current_user, shown)
    return render_template(
        "scheduling/week_grid.html",
        week_days=days,
        people=people,
        monday=monday,
        can_book=booking,
        # the shared move form's address, {id} filled in by week.js with the visit moved
        move_action=url_for("scheduling.move", appointment_id=0).replace("/0/", "/{id}/"),
        start_mark=_start_mark(),  # a drop on today's free time starts from now
        prev_monday=monday - timedelta(days=7),
        next_monday=monday + timedelta(days=7),
    )


@bp.route("/week")
def week():
    """Seven days from Monday: every clinician (the grid), or one clinician or room."""
    the_day = _day_arg()
    monday = the_day - timedelta(days=the_day.weekday())
    if "provider" not in request.args and "room" not in request.args:
        return _week_grid(monday)
    people, rooms = services.clinicians(), services.active_rooms()
    provider_id, room_id = query_id("provider"), query_id("room")
    subject = None
    if room_id:
        subject = get_room(room_id) or abort(404)
    else:
        if provider_id is None and people:
            provider_id = people[0].id
        subject = get_clinician(provider_id) if provider_id else None
        if provider_id and subject is None:
            abort(404)
    start = clinic_day_bounds(monday)[0]
    end = clinic_day_bounds(monday + timedelta(days=6))[1]
    appointments = []
    if subject is not None:
        appointments = appointments_between(
            start, end, provider_id=None if room_id else provider_id, room_id=room_id or None
        )
    days = [monday + timedelta(days=i) for i in range(7)]
    by_day = {d: [] for d in days}

    for appointment in appointments:
        by_day.setdefault(to_clinic(appointment.starts_at).date(), []).append(appointment)
    audit.record_read("schedule.week_viewed", current_user, patients_of(appointments))
    return render_template(
        "scheduling/week.html",
        days=days,
        by_day=by_day,
        weekdays=WEEKDAYS,
        subject=subject,
        people=people,
        rooms=rooms,
        provider_id=provider_id,
        room_id=room_id,
        monday=monday,
        can_book=can_book(current_user),
        can_export=subject is not None
        and not room_id
        and can_export_calendar(current_user, subject),
        prev_monday=monday - timedelta(days=7),
        next_monday=monday + timedelta(days=7),
    )


def _board_context(the_day: date) -> dict:
    appointments = day_rows(the_day)
    now, user = utcnow(), current_user._get_current_object()  # the proxy costs a lookup a use
    # the buttons follow from the status and start time alone: a day's rows share a few dozen
    by_moment: dict[tuple, list[Status]] = {}
    actions = {}
    for a in appointments:
        key = (a.status, a.starts_at)
        if key not in by_moment:
            by_moment[key] = services.available_actions(a, user, now)
        actions[a.id] = by_moment[key]
    row_macros = current_app.jinja_env.get_template("scheduling/_board_row.html").module
    return dict(
        appointments=appointments,
        day=the_day,
        board_rows=BoardRows(
            row_macros,
            locations(appointments, the_day),
            actions,
            buttons=the_day == clinic_today(),
            # clinicians open the clinical chart, the front desk the patient's page
            chart_links=user.role in (Role.PROVIDER, Role.CLINICAL_STAFF),
            csrf=generate_csrf(),
            next_url=url_for("scheduling.board"),
        ),
    )


@bp.route("/board")
def board():
    """Today's patients in time order, where each is, with check-in and no-show."""
    context = _board_context(_day_arg())  # the first view is audited; the refresh is passive
    audit.record_read("schedule.board_viewed", current_user, patients_of(context["appointments"]))
    return render_template("scheduling/board.html", **context)


@bp.route("/board/rows")
@passive
def board_rows():
    """The board's table body, fetched by board.js every 30 seconds (not session activity)."""
    return render_template("scheduling/_board_rows.html", **_board_context(_day_arg()))


@bp.route("/day/print")
def print_day():
    """A printable list of one day's appointments (one clinician or everyone)."""
    the_day = _day_arg()
    provider_id = query_id("provider")
    clinician = get_clinician(provider_id) if provider_id else None
    if provider_id and clinician is None:
        abort(404)
    appointments = [
        a
        for a in appointments_on(the_day, provider_id=provider_id)
        if a.status is not Status.CANCELLED
    ]
    # Rendered before the commit, which would expire every loaded row.
    html = render_template(
        "scheduling/print_day.html", appointments=appointments, day=the_day, clinician=clinician
    )
    audit.record(
        "schedule.printed",
        actor=current_user,
        detail=f"{the_day} provider {provider_id or 'all'}",
        patients=patients_of(appointments),
    )
    return html


@bp.route("/clinicians/<int:clinician_id>/calendar.ics")
def calendar_file(clinician_id: int):
    """A clinician's appointments from a week ago to eight weeks ahead, as iCalendar."""
    clinician = get_clinician(clinician_id) or abort(404)
    ensure(can_export_calendar(current_user, clinician))
    start = clinic_day_bounds(clinic_today() - timedelta(days=7))[0]
    end = clinic_day_bounds(clinic_today() + timedelta(days=56))[1]
    appointments = appointments_between(start, end, provider_id=clinician.id)
    body = export.to_ical(clinician, appointments, host=request.host)
    audit.record(
        "schedule.exported",
        actor=current_user,
        obj=clinician,
        detail=f"{len(appointments)} appointments",
    )
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": export.attachment(export.calendar_filename(clinician))},
    )
