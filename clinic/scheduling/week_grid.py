"""The week for every clinician at once: for each day, one lane per clinician with their
working hours, their visits and the free time between them. Weekends are left out unless
someone works or has a visit then. Visits come in as light rows (queries.VisitRow) for the
page, or as Appointment objects; free time carries its clinic wall-clock times, worked out once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from flask import current_app, render_template, request
from markupsafe import Markup

from clinic import kept as kept_store
from clinic.auth.models import User
from clinic.markup_patterns import MarkupPattern
from clinic.reads import patients_of
from clinic.scheduling.models import WEEKDAYS, Status, WorkingHours
from clinic.scheduling.queries import visit_rows, visits_stamp
from clinic.scheduling.slots import shift_bounds
from clinic.timeutil import clinic_day_bounds, clinic_tz
from clinic.url_patterns import UrlPattern

MIN_FREE = timedelta(minutes=15)  # shorter gaps are not worth showing as free time


@dataclass
class Free:
    starts_at: datetime
    ends_at: datetime
    start_hm: str = ""  # clinic wall-clock HH:MM
    end_hm: str = ""

    @property
    def minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


@dataclass
class Visit:
    appointment: Any  # a VisitRow or an Appointment
    outside_hours: bool


@dataclass
class Lane:
    clinician: User
    hours: WorkingHours | None
    items: list[Free | Visit] = field(default_factory=list)
    cells: list[Markup] = field(default_factory=list)  # the items' markup (fill_cells)

    @property
    def free_minutes(self) -> int:
        return sum(i.minutes for i in self.items if isinstance(i, Free))


@dataclass
class WeekDay:
    day: date
    lanes: list[Lane]


def _hm(moment: datetime, tz: tzinfo) -> str:
    local = moment.astimezone(tz)
    return f"{local.hour:02d}:{local.minute:02d}"


def _free(starts_at: datetime, ends_at: datetime, tz: tzinfo) -> Free:
    return Free(starts_at, ends_at, _hm(starts_at, tz), _hm(ends_at, tz))


def _lane(day: date, clinician: User, hours: WorkingHours | None, visits: list, tz: tzinfo):
    lane = Lane(clinician, hours)
    shift = shift_bounds(day, hours) if hours is not None else None
    cursor = shift[0] if shift else None
    for appointment in sorted(visits, key=lambda a: (a.starts_at, a.id)):
        if shift and cursor is not None and appointment.starts_at - cursor >= MIN_FREE:
            end = min(appointment.starts_at, shift[1])
            if end - cursor >= MIN_FREE:
                lane.items.append(_free(cursor, end, tz))
        outside = not (
            shift and shift[0] <= appointment.starts_at and appointment.ends_at <= shift[1]
        )
        lane.items.append(Visit(appointment, outside))
        if cursor is not None:
            cursor = max(cursor, appointment.ends_at)
    if shift and cursor is not None and shift[1] - cursor >= MIN_FREE:
        lane.items.append(_free(cursor, shift[1], tz))
    return lane


def build_week(
    monday: date,
    clinicians: list[User],
    hours: dict[int, dict[int, WorkingHours]],
    appointments: list,
) -> list[WeekDay]:
    """The days of the week to show, each with its clinicians' lanes (cancelled visits out)."""
    tz = clinic_tz()
    live = [a for a in appointments if a.status is not Status.CANCELLED]
    by_day: dict[date, dict[int, list]] = {}
    for appointment in live:
        day = getattr(appointment, "day", None) or appointment.starts_at.astimezone(tz).date()
        by_day.setdefault(day, {}).setdefault(appointment.provider_id, []).append(appointment)
    days = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        visits = by_day.get(day, {})
        lanes = [
            _lane(day, c, hours.get(c.id, {}).get(day.weekday()), visits.get(c.id, []), tz)
            for c in clinicians
            if day.weekday() in hours.get(c.id, {}) or c.id in visits
        ]
        if day.weekday() >= 5 and not lanes:
            continue  # a weekend nobody works
        days.append(WeekDay(day, lanes))
    return days


VISIT_FIELDS = (
    "id", "version", "provider", "day", "start", "end", "href", "name", "full_name", "kind",
    "status", "status_label", "move_href",
)  # fmt: skip


def fill_cells(days: list[WeekDay], macros: Any, can_book: bool) -> None:
    """Every lane's visits and free times as markup, from the macros of
    scheduling/_week_cells.html each rendered once here (MarkupPattern), not once per cell."""
    visit = {
        (outside, movable): MarkupPattern(
            macros.visit, *VISIT_FIELDS, outside=outside, movable=movable
        )
        for outside in (False, True)
        for movable in (False, True)
    }
    free = MarkupPattern(
        macros.free, "provider", "day", "start", "end", "href", "name", can_book=can_book
    )
    appointment_url = UrlPattern("scheduling.appointment", "appointment_id")
    reschedule_url = UrlPattern("scheduling.reschedule", "appointment_id")
    book_url = UrlPattern("scheduling.book", "provider", "date", "time")
    for week_day in days:
        day = week_day.day.isoformat()
        for lane in week_day.lanes:
            clinician_id, clinician_name = lane.clinician.id, lane.clinician.full_name
            for item in lane.items:
                if isinstance(item, Free):
                    href = book_url(provider=clinician_id, date=day, time=item.start_hm)
                    lane.cells.append(
                        free(
                            provider=clinician_id,
                            day=day,
                            start=item.start_hm,
                            end=item.end_hm,
                            href=href if can_book else "",
                            name=clinician_name,
                        )
                    )
                    continue
                a = item.appointment
                movable = can_book and a.status is Status.BOOKED
                lane.cells.append(
                    visit[item.outside_hours, movable](
                        id=a.id,
                        version=a.version,
                        provider=a.provider_id,
                        day=a.day.isoformat(),
                        start=a.start_hm,
                        end=a.end_hm,
                        href=appointment_url(appointment_id=a.id),
                        name=a.display_name,
                        full_name=a.full_name,
                        kind=a.kind.label,
                        status=a.status.value,
                        status_label=a.status.label,
                        move_href=reschedule_url(appointment_id=a.id) if movable else "",
                    )
                )


KEPT_WEEKS = 16  # weeks x (may book or not) x address roots kept per app; oldest dropped first
_KEPT = "clinic_week_days"


def week_days(
    monday: date,
    clinicians: list[User],
    hours: dict[int, dict[int, WorkingHours]],
    can_book: bool,
) -> tuple[Markup, set[int]]:
    """The week grid's days as markup, and the patients they show (for the audit row).

    Building them (a week's ~330 visits read, laid out in lanes and filled in) is most of the
    page's cost, so the markup is kept per app and reused while what it shows is unchanged:
    the clinicians and their hours (read on every view) and the visits' stamp
    (queries.visits_stamp, one statement). The stamp is read before the visits, so markup
    kept under a stamp is never older than it."""
    start = clinic_day_bounds(monday)[0]
    end = clinic_day_bounds(monday + timedelta(days=6))[1]
    inputs = (
        tuple((c.id, c.full_name, c.role) for c in clinicians),
        tuple(
            sorted(
                (clinician, weekday, h.starts, h.ends)
                for clinician, days in hours.items()
                for weekday, h in days.items()
            )
        ),
        visits_stamp(start, end),
    )
    kept: dict[tuple, tuple[tuple, Markup, set[int]]] = kept_store.store(current_app, _KEPT)
    key = (monday, can_book, request.script_root)
    found = kept.get(key)
    if found is not None and found[0] == inputs:
        return found[1], found[2]
    visits = visit_rows(start, end)  # light rows; cancelled visits are not shown
    days = build_week(monday, clinicians, hours, visits)
    fill_cells(
        days, current_app.jinja_env.get_template("scheduling/_week_cells.html").module, can_book
    )
    html = render_template("scheduling/_week_days.html", days=days, weekdays=WEEKDAYS)
    markup = Markup(html)  # noqa: S704 (a template's autoescaped output)
    shown = patients_of(visits)
    kept_store.put(kept, key, (inputs, markup, shown), KEPT_WEEKS)
    return markup, shown


def forget_weeks(app) -> None:
    """Drop the weeks kept (the test suite rolls the database back under a running app)."""
    app.extensions.pop(_KEPT, None)
