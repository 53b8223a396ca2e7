"""Markup a page repeats per row (the week grid's visits and free times): a template macro
rendered once per page with placeholder values, then filled per row. Filling is a format of
escaped values, where rendering the macro (or the loop body) costs every row ~25 µs."""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup, escape

_MARK = "\x00{}\x00"  # survives autoescaping unchanged, and no value a page shows has one
_SPLIT = re.compile("\x00(\\d+)\x00")
_SEPARATOR = "\x00"


class MarkupPattern:
    """macro(**fixed, **{name: value for each variable}) as a fill-in pattern: calling it
    with the variables' values gives exactly the macro's text. The macro may only print the
    variables (autoescaped); what it tests or transforms must be in `fixed`."""

    def __init__(self, macro: Any, *variables: str, **fixed: object) -> None:
        marks = {name: _MARK.format(i) for i, name in enumerate(variables)}
        pieces = _SPLIT.split(str(macro(**fixed, **marks)))
        parts = [part.replace("{", "{{").replace("}", "}}") for part in pieces[0::2]]
        slots = [f"{{{index}}}" for index in pieces[1::2]]
        # the macro's text as a str.format pattern, each variable printed as {its index}
        self._format = "".join(p for pair in zip(parts, [*slots, ""], strict=True) for p in pair)
        self._names = variables

    def __call__(self, **values: object) -> Markup:
        texts = [values[name] for name in self._names]
        # escaped as one text: one call, where a call per value cost a Markup object each
        joined = _SEPARATOR.join([t if t.__class__ is str else _text(t) for t in texts])
        escaped = str(escape(joined)).split(_SEPARATOR)
        if len(escaped) != len(texts):  # a value has a separator or markup of its own
            escaped = [escape(t) for t in texts]
        return Markup(self._format.format(*escaped))  # noqa: S704 (the macro's markup, escaped values)


def _text(value: object) -> str:
    """A value as text to escape; one with markup of its own (__html__) as two separators, so
    that the values are escaped one by one."""
    return _SEPARATOR * 2 if hasattr(value, "__html__") else str(value)
