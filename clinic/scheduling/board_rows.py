"""The day board's rows as markup: each kind of row (scheduling/_board_row.html) rendered once
per page with placeholder values and filled per appointment (MarkupPattern), where the loop
body and its status buttons cost ~200 µs a row (filters, URLs, a macro call, lookups, escapes)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from markupsafe import Markup

from clinic.dates import fmt_date, fmt_time
from clinic.markup_patterns import MarkupPattern
from clinic.scheduling.board import PHONE_ACTIONS
from clinic.scheduling.models import Status, VisitKind
from clinic.scheduling.queries import DayRow
from clinic.scheduling.states import ACTION_LABELS
from clinic.url_patterns import UrlPattern

FIELDS = (
    "status", "start", "end", "patient_href", "display_name", "mrn", "born", "kind_label",
    "provider_name", "room_name", "where", "arrived_at", "action_url", "version", "full_name",
    "appointment_href",
)  # fmt: skip


class BoardRows:
    """Called once by scheduling/_board_rows.html with the day's rows and the patients' replies
    by appointment id (the messaging wing's `patient_replies`): the rows as the board's loop
    wrote them, one after another."""

    def __init__(
        self,
        macros: Any,
        where: dict[int, str],
        actions: dict[int, list[Status]],
        *,
        buttons: bool,
        chart_links: bool,
        csrf: str,
        next_url: str,
    ) -> None:
        self._macro, self._where, self._actions, self._buttons = macros.row, where, actions, buttons
        self._fixed = {"csrf": csrf, "next_url": next_url}
        self._patterns: dict[tuple, MarkupPattern] = {}
        self._patient_url = UrlPattern(
            "journeys.chart" if chart_links else "patients.detail", "patient_id"
        )
        self._appointment_url = UrlPattern("scheduling.appointment", "appointment_id")
        self._status_url = UrlPattern("scheduling.set_status", "appointment_id")
        self._times: dict[datetime | None, str] = {}  # a day's rows share a few dozen times

    def _time(self, moment: datetime | None) -> str:
        text = self._times.get(moment)
        if text is None:
            text = self._times[moment] = fmt_time(moment)
        return text

    def __call__(self, rows: list[DayRow], replies: dict[int, Any]) -> Markup:
        return Markup("".join([self._row(row, replies.get(row.id)) for row in rows]))  # noqa: S704

    def _row(self, row: DayRow, reply: Any) -> Markup:
        phone = row.kind is VisitKind.PHONE_CHECK
        actions = tuple(self._actions[row.id]) if self._buttons else ()
        variant = (phone, row.checked_in_at is not None, reply and reply.reply, actions)
        pattern = self._patterns.get(variant)
        if pattern is None:
            pattern = self._patterns[variant] = MarkupPattern(
                self._macro,
                *FIELDS,
                **self._fixed,
                phone=phone,
                arrived=variant[1],
                reply=reply,
                actions=actions,
                labels=PHONE_ACTIONS if phone else ACTION_LABELS,
            )
        start = self._time(row.starts_at)
        return pattern(
            status=row.status.value,
            start=start,
            end=self._time(row.ends_at),
            patient_href=self._patient_url(patient_id=row.patient_id),
            display_name=row.display_name,
            mrn=row.mrn,
            born=fmt_date(row.date_of_birth),
            kind_label=row.kind.label,
            provider_name=row.provider_name,
            room_name=row.room_name if row.room_id is not None else "—",
            where=self._where[row.id],
            arrived_at=self._time(row.checked_in_at),
            action_url=self._status_url(appointment_id=row.id) if actions else "",
            version=row.version,
            full_name=row.full_name,
            appointment_href=self._appointment_url(appointment_id=row.id),
        )
