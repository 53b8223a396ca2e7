"""Markup a page repeats per row (the week grid's visits and free times): a template macro
rendered once per page with placeholder values, then filled per row. Filling is a join of
escaped values, where rendering the macro (or the loop body) costs every row ~25 µs."""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup, escape

_MARK = "\x00{}\x00"  # survives autoescaping unchanged, and no value a page shows has one
_SPLIT = re.compile("\x00(\\d+)\x00")
_UNSAFE = re.compile("[&<>'\"]")  # what autoescaping replaces


def _text(value: object) -> str:
    """`escape(value)` as text, without its cost where nothing needs escaping: a number, or
    text with none of the characters autoescaping replaces (most of a row's values: ids,
    dates, times, addresses, labels). A row has a dozen values and a week ~370 rows."""
    if type(value) is int:
        return str(value)
    if type(value) is str and _UNSAFE.search(value) is None:
        return value
    return escape(value)


class MarkupPattern:
    """macro(**fixed, **{name: value for each variable}) as a fill-in pattern: calling it
    with the variables' values gives exactly the macro's text. The macro may only print the
    variables (autoescaped); what it tests or transforms must be in `fixed`."""

    def __init__(self, macro: Any, *variables: str, **fixed: object) -> None:
        marks = {name: _MARK.format(i) for i, name in enumerate(variables)}
        pieces = _SPLIT.split(str(macro(**fixed, **marks)))
        self._parts: list[str] = pieces[0::2]
        self._slots = [int(index) for index in pieces[1::2]]
        self._names = variables

    def __call__(self, **values: object) -> Markup:
        texts = [_text(values[name]) for name in self._names]
        out = [self._parts[0]]
        for slot, part in zip(self._slots, self._parts[1:], strict=True):
            out.append(texts[slot])
            out.append(part)
        return Markup("".join(out))  # noqa: S704 (the macro's own markup and escaped values)
