"""The day calendar's grid as markup: its cells (scheduling/_day_cells.html) each rendered once
per page with placeholder values and filled per quarter hour, column or visit (MarkupPattern),
where the template's loop over rows x columns cost ~15 µs a cell and ~60 µs a visit."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from clinic.dates import fmt_time
from clinic.markup_patterns import MarkupPattern
from clinic.scheduling.calendar import Block, Grid
from clinic.timeutil import clinic_tz
from clinic.url_patterns import UrlPattern

CARD_FIELDS = ("status", "href", "start", "end", "name", "kind", "detail", "status_label")

# The whitespace day.html's loops wrote around the cells, kept so the page reads the same.
_ROW_OPEN, _ROW_CLOSE = "\n  ", "\n  </tr>\n  "
_CELLS, _COVERED = "\n    ", "\n      \n      \n    "
_CELL_OPEN, _CELL_CLOSE = "\n      \n      ", "\n      \n    "
_CARD_OPEN, _CARD_CLOSE, _BLOCK_CLOSE = "\n        ", "\n        ", "\n      </td>"


def grid_body(grid: Grid, macros: Any, *, can_book: bool, rooms: bool) -> Markup:
    """The table body's rows (between <tbody> and </tbody>), as day.html's loop wrote them;
    `rooms`: the columns are rooms (else clinicians)."""
    row_head = MarkupPattern(macros.row_head, "time")
    free = MarkupPattern(macros.free, "href", "name", "time", can_book=can_book)
    off = str(macros.off())
    block = MarkupPattern(macros.block, "rowspan")
    cards = {
        detailed: MarkupPattern(macros.card, *CARD_FIELDS, detailed=detailed)
        for detailed in (False, True)
    }
    column_arg = "room" if rooms else "provider"
    book_url = UrlPattern("scheduling.book", "time", column_arg, date=grid.day.isoformat())
    appointment_url = UrlPattern("scheduling.appointment", "appointment_id")
    times: dict[Any, str] = {}

    def time_of(moment) -> str:
        text = times.get(moment)
        if text is None:
            text = times[moment] = fmt_time(moment)
        return text

    def card(appt) -> str:
        detail = appt.provider_name if rooms else appt.room_name
        return cards[rooms or appt.room_id is not None](
            status=appt.status.value,
            href=appointment_url(appointment_id=appt.id),
            start=time_of(appt.starts_at),
            end=time_of(appt.ends_at),
            name=appt.display_name,
            kind=appt.kind.label,
            detail=detail or "",
            status_label=appt.status.label,
        )

    tz = clinic_tz()
    columns = [(column, {column_arg: column.key}) for column in grid.columns]
    out: list[str] = []
    for index, row in enumerate(grid.rows):
        local = row.astimezone(tz)  # the zone looked up once for the page, not per row
        row_time = fmt_time(local.time())
        hm = f"{local.hour:02d}:{local.minute:02d}"
        out += (_ROW_OPEN, row_head(time=row_time), _CELLS)
        for column, book_column in columns:
            cell = column.cells[index]
            if cell == "covered":
                out.append(_COVERED)
                continue
            out.append(_CELL_OPEN)
            if cell == "free":
                href = book_url(time=hm, **book_column) if can_book else ""
                out.append(free(href=href, name=column.label, time=row_time))
            elif cell == "off":
                out.append(off)
            elif isinstance(cell, Block):
                out += (block(rowspan=cell.rowspan), _CARD_OPEN)
                for appt in cell.appointments:
                    out += (_CARD_OPEN, card(appt), _CARD_CLOSE)
                out.append(_BLOCK_CLOSE)
            out.append(_CELL_CLOSE)
        out.append(_ROW_CLOSE)
    return Markup("".join(out))  # noqa: S704 (the macros' own markup and escaped values)
