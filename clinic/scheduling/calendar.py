"""The day calendar as a grid: one column per clinician or room, one row per quarter hour.

Appointments become cells spanning the rows they touch; appointments whose rows meet in
the same column (short or off-grid visits) share one cell, so the table never breaks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from clinic.scheduling.models import Appointment, Status
from clinic.scheduling.slots import Hours, shift_bounds
from clinic.timeutil import clinic_tz

ROW = timedelta(minutes=15)
DEFAULT_OPEN, DEFAULT_CLOSE = time(8, 0), time(18, 0)


@dataclass
class Block:
    """One table cell holding one or more appointments."""

    rowspan: int
    appointments: list[Appointment] = field(default_factory=list)


@dataclass
class Column:
    key: int
    label: str
    hours: Hours | None = None
    cells: dict[int, Block | str] = field(
        default_factory=dict
    )  # row index -> Block/"free"/"off"/"covered"


@dataclass
class Grid:
    day: date
    rows: list[datetime]  # UTC start of each row
    columns: list[Column]


def _row_of(moment: datetime, first: datetime) -> int:
    return int((moment - first) // ROW)


def _bounds(day: date, columns: list[Column], appointments: list[Appointment]):
    tz = clinic_tz()
    opens = [datetime.combine(day, DEFAULT_OPEN, tz).astimezone(UTC)]
    closes = [datetime.combine(day, DEFAULT_CLOSE, tz).astimezone(UTC)]
    for column in columns:
        if column.hours is not None:
            start, end = shift_bounds(day, column.hours)
            opens.append(start)
            closes.append(end)
    opens += [a.starts_at for a in appointments]
    closes += [a.ends_at for a in appointments]
    first = min(opens)
    first = first.replace(minute=first.minute - first.minute % 15, second=0, microsecond=0)
    return first, max(closes)


def build_grid(
    day: date, columns: list[Column], appointments: list[Appointment], column_of
) -> Grid:
    """Place appointments (cancelled ones left out) into the columns; `column_of(appt)` gives
    the column key an appointment belongs to (or None to leave it out)."""
    keys = {c.key for c in columns}
    shown = [a for a in appointments if a.status is not Status.CANCELLED and column_of(a) in keys]
    first, last = _bounds(day, columns, shown)
    rows = []
    moment = first
    while moment < last:
        rows.append(moment)
        moment += ROW
    by_key = {c.key: c for c in columns}
    for appointment in sorted(shown, key=lambda a: a.starts_at):
        column = by_key.get(column_of(appointment))
        if column is None:
            continue
        top = _row_of(appointment.starts_at, first)
        bottom = max(top, _row_of(appointment.ends_at - timedelta(microseconds=1), first))
        _place(column, top, bottom, appointment)
    for column in columns:
        shift = shift_bounds(day, column.hours) if column.hours else None
        for index, start in enumerate(rows):
            if index not in column.cells:
                inside = shift and shift[0] <= start and start + ROW <= shift[1]
                column.cells[index] = "free" if inside else "off"
    return Grid(day, rows, columns)


def _place(column: Column, top: int, bottom: int, appointment: Appointment) -> None:
    # Find a block already covering the top row (merge into it) or start a new block.
    for start, cell in list(column.cells.items()):
        if isinstance(cell, Block) and start <= top < start + cell.rowspan:
            cell.appointments.append(appointment)
            new_bottom = max(start + cell.rowspan - 1, bottom)
            for row in range(start + cell.rowspan, new_bottom + 1):
                column.cells[row] = "covered"
            cell.rowspan = new_bottom - start + 1
            return
    column.cells[top] = Block(bottom - top + 1, [appointment])
    for row in range(top + 1, bottom + 1):
        existing = column.cells.get(row)
        if isinstance(existing, Block):  # a later-starting block swallowed by this one
            appointment_list = existing.appointments
            column.cells[top].appointments.extend(appointment_list)
            column.cells[top].rowspan = max(column.cells[top].rowspan, row - top + existing.rowspan)
        column.cells[row] = "covered"
