"""Bounded input outside forms: ids in URLs, numbers and dates in query strings.

The `int` URL converter is replaced app-wide so that an id beyond what the database holds is a
404 like any unknown id. Query-string helpers answer 400 for a value that is not what the
page asks for, never a 500 further down.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask, abort, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from clinic.forms import MAX_ID, clean_text, text_problem

# Days a calendar, board, print or slot page can show: a few years either side of today.
QUERY_YEARS_BACK = 5
QUERY_YEARS_AHEAD = 5


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` that matches only 0..2^31-1; a larger number does not match (404)."""

    def __init__(self, url_map, fixed_digits: int = 0, **bounds) -> None:
        bounds.setdefault("max", MAX_ID)
        bounds["max"] = min(bounds["max"], MAX_ID)
        bounds["signed"] = False
        super().__init__(url_map, fixed_digits=fixed_digits, **bounds)


def install_converter(app: Flask) -> None:
    """Use the bounded converter for every `<int:...>` rule (before blueprints register)."""
    app.url_map.converters["int"] = BoundedIntConverter


def query_int(
    name: str, default: int | None = None, low: int = 1, high: int = MAX_ID
) -> int | None:
    """A whole number from the query string: `default` when absent or blank, else 400 if bad."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.lstrip("-").isdigit() or len(raw) > 11:
        abort(400)
    value = int(raw)
    if not low <= value <= high:
        abort(400)
    return value


def query_id(name: str) -> int | None:
    """An optional record id from the query string (0 or absent means none); 400 if bad."""
    value = query_int(name, default=None, low=0)
    return value or None


def earliest_day() -> date:
    return date.today() - timedelta(days=365 * QUERY_YEARS_BACK)


def latest_day() -> date:
    return date.today() + timedelta(days=365 * QUERY_YEARS_AHEAD)


def parse_day(raw: str | None, earliest: date | None = None, latest: date | None = None) -> date:
    """An ISO date from a query string inside the clinic's window; 400 otherwise."""
    try:
        day = date.fromisoformat((raw or "").strip())
    except ValueError:
        abort(400)
    if not (earliest or earliest_day()) <= day <= (latest or latest_day()):
        abort(400)
    return day


def query_day(name: str, default: date | None = None, strict: bool = True) -> date | None:
    """An optional ISO date from the query string (`default` when absent); 400 if bad, or
    `default` again when not `strict` (a prefill the user can correct)."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if strict:
        return parse_day(raw)
    try:
        return parse_day(raw)
    except HTTPException:
        return default


def query_text(name: str, max_length: int = 200) -> str:
    """Free text from the query string (a search), cut to `max_length`; 400 with control
    characters, which no search needs and the database refuses."""
    raw = request.args.get(name, "")[:max_length]
    if text_problem(raw, multi_line=False):
        abort(400)
    return clean_text(raw)
