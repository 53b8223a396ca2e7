"""A markup pattern rendered once per page gives exactly its macro's text for each row's values,
escaped as autoescaping escapes them."""

from __future__ import annotations

import itertools

import pytest
from markupsafe import Markup

from clinic.markup_patterns import MarkupPattern

NAMES = ["O'Brien, Siobhán", 'Tom "TJ" & <Jerry>', "", "Ünïcødé", Markup("<b>kept</b>"), 42, None]


def _visit_cells(app):
    return app.jinja_env.get_template("scheduling/_week_cells.html").module


@pytest.mark.parametrize("name", NAMES)
def test_every_cell_variant_fills_like_the_macro_renders(app, name):
    with app.test_request_context():
        cells = _visit_cells(app)
        values = dict(
            id=15549, version=3, provider=7, day="2026-11-27", start="08:00", end="08:30",
            href="/schedule/appointments/15549?a=1&b=2", name=name, full_name=name,
            kind="Follow-up", status="booked", status_label="Booked", move_href="/x?y=1&z=2",
        )  # fmt: skip
        for outside, movable in itertools.product((False, True), repeat=2):
            pattern = MarkupPattern(cells.visit, *values, outside=outside, movable=movable)
            expected = cells.visit(outside=outside, movable=movable, **values)
            assert pattern(**values) == expected
            assert isinstance(pattern(**values), Markup)
        free = dict(provider=7, day="2026-11-27", start="09:00", end="10:00", href="/b?c&d")
        for can_book in (False, True):
            pattern = MarkupPattern(cells.free, *free, "name", can_book=can_book)
            assert pattern(**free, name=name) == cells.free(can_book=can_book, **free, name=name)


def test_a_variable_printed_twice_is_filled_twice(app):
    with app.test_request_context():
        macro = app.jinja_env.from_string(
            "{% macro m(a, b) %}<i title='{{ a }}'>{{ b }}{{ a }}</i>{% endmacro %}"
        ).module.m
        assert (
            MarkupPattern(macro, "a", "b")(a="<&>", b=1)
            == "<i title='&lt;&amp;&gt;'>1&lt;&amp;&gt;</i>"
        )


@pytest.mark.parametrize("name", NAMES)
def test_every_recall_row_variant_fills_like_the_macro_renders(app, name):
    from clinic.scheduling.recall_rows import FIELDS

    with app.test_request_context():
        row = app.jinja_env.get_template("scheduling/_recall_row.html").module.row
        values = {field: f"{field} & <{field}>" for field in FIELDS}
        values.update(id=12, display_name=name, full_name=name, phone=name)
        for flags in itertools.product((False, True), repeat=4):
            fixed = dict(zip(("has_slot", "has_room", "late", "has_phone"), flags, strict=True))
            pattern = MarkupPattern(row, *FIELDS, csrf="token'&", **fixed)
            assert pattern(**values) == row(csrf="token'&", **fixed, **values)


@pytest.mark.parametrize(
    "values", [("{0}", "}{"), ("a\x00b", "<"), (Markup("<i>"), "\x00"), (7, None)]
)
def test_braces_separators_and_markup_fill_as_the_macro_renders(app, values):
    """Braces in the macro or the values, a value with the separator, one with markup."""
    with app.test_request_context():
        macro = app.jinja_env.from_string(
            "{% macro m(a, b) %}<i data-x='{\"k\": 1}'>{{ a }}{b}{{ b }}</i>{% endmacro %}"
        ).module.m
        a, b = values
        assert MarkupPattern(macro, "a", "b")(a=a, b=b) == macro(a=a, b=b)
