"""The worklist's rows as markup: each kind of row (journeys/_worklist_row.html) rendered once
per page with placeholder values and filled per stage (MarkupPattern), where the loop body cost
~100 µs a row (two links, three filters, enum labels, attribute lookups, escapes).

A row's markup follows from the values it prints alone (`ShownStage`, a hashable tuple), so the
rows made are kept per process, by those values: a view whose stages have not changed since
the last one fills none (~15 µs a row, most of the rows' cost)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from flask import request
from markupsafe import Markup

from clinic.dates import datetime_texts, fmt_time
from clinic.journeys.states import Therapy
from clinic.markup_patterns import MarkupPattern
from clinic.url_patterns import UrlPattern

FIELDS = (
    "chart_url", "patient_name", "mrn", "stage_url", "kind_label", "cycle_number", "therapy",
    "status", "status_label", "appointment", "visit_kind", "updated",
)  # fmt: skip


MADE_MAX = 4096  # rows (~600 bytes each) kept, the oldest dropped first
_made: OrderedDict[tuple, Markup] = OrderedDict()


def therapy_words(therapy: Therapy) -> str:
    """As the worklist names a therapy: its code for PRP, its label otherwise."""
    return therapy.value.upper() if therapy is Therapy.PRP else therapy.label


class WorklistRows:
    """Called per section by journeys/worklist.html with the section's stages (`ShownStage`):
    the rows as the table's loop wrote them."""

    def __init__(self, macros: Any) -> None:
        self._macro = macros.row
        self._patterns: dict[tuple[bool, bool, bool], MarkupPattern] = {}
        self._chart_url = UrlPattern("journeys.chart", "patient_id")
        self._stage_url = UrlPattern("journeys.stage", "journey_id", "stage_id")
        self._moment = datetime_texts()
        # what a row's markup depends on besides its values: the macro (one per app and
        # template version) and where the app is mounted (its links)
        self._context = (macros, request.script_root)

    def _pattern(self, variant: tuple[bool, bool, bool]) -> MarkupPattern:
        pattern = self._patterns.get(variant)
        if pattern is None:
            mine, cycle, booked = variant
            pattern = self._patterns[variant] = MarkupPattern(
                self._macro, *FIELDS, mine=mine, cycle=cycle, booked=booked
            )
        return pattern

    def __call__(self, stages: Iterable[Any]) -> Markup:
        return Markup("\n").join(self.row(stage) for stage in stages)

    def row(self, stage: Any) -> Markup:
        """One stage's row, as made for the same values before or made now."""
        key = (self._context, stage)
        made = _made.get(key)
        if made is None:
            made = _made[key] = self._make(stage)
            if len(_made) > MADE_MAX:
                _made.popitem(last=False)
        return made

    def _make(self, stage: Any) -> Markup:
        visit = stage.visit
        pattern = self._pattern((stage.mine, stage.cycle_number is not None, visit is not None))
        appointment = visit_kind = ""
        if visit is not None:
            visit_kind = visit.kind.label
            if visit.today:
                appointment = f"today {fmt_time(visit.starts_at)}"
            else:
                appointment = self._moment(visit.starts_at)
        return pattern(
            chart_url=self._chart_url(patient_id=stage.patient_id),
            patient_name=stage.patient_name,
            mrn=stage.mrn,
            stage_url=self._stage_url(journey_id=stage.journey_id, stage_id=stage.id),
            kind_label=stage.kind.label,
            cycle_number=stage.cycle_number,
            therapy=therapy_words(stage.therapy),
            status=stage.status.value,
            status_label=stage.status.label,
            appointment=appointment,
            visit_kind=visit_kind,
            updated=self._moment(stage.updated_at),
        )
