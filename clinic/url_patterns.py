"""URLs a page repeats per row (a calendar's booking cells, a board's appointment links), built
once per render: url_for matches the rule and encodes once, each row only fills its values in."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

from flask import url_for

# What Werkzeug leaves unescaped in a query value (werkzeug.urls._urlencode).
_QUERY_SAFE = "!$'()*,/:;?@"
_MARK = 7_304_851_000  # placeholder values: digits survive every encoding unchanged


class UrlPattern:
    """url_for(endpoint, **fixed, **{name: value for each variable}) as a fill-in pattern:
    calling it with the variables' values gives exactly url_for's text. Variables in the
    path must be integers (ids); the others go in the query string in the order given."""

    def __init__(self, endpoint: str, *variables: str, **fixed: object) -> None:
        marks = {name: str(_MARK + i) for i, name in enumerate(variables)}
        values: dict[str, Any] = {**fixed, **{name: int(mark) for name, mark in marks.items()}}
        url = url_for(endpoint, **values)
        query_at = url.find("?") if "?" in url else len(url)
        self._parts: list[str] = []
        self._names: list[tuple[str, bool]] = []  # (name, in the path)
        rest = url
        for name, mark in sorted(marks.items(), key=lambda item: url.index(item[1])):
            at = rest.index(mark)
            self._parts.append(rest[:at])
            self._names.append((name, url.index(mark) < query_at))
            rest = rest[at + len(mark) :]
        self._parts.append(rest)
        self._quoted: dict[Any, str] = {}  # a page's query values repeat (its times, its days)

    def __call__(self, **values: object) -> str:
        out = [self._parts[0]]
        for (name, in_path), part in zip(self._names, self._parts[1:], strict=True):
            value: Any = values[name]
            if in_path:
                text = str(int(value))
            elif value.__class__ is int:  # digits need no quoting
                text = str(value)
            elif value in self._quoted:
                text = self._quoted[value]
            else:
                text = self._quoted[value] = quote_plus(str(value), safe=_QUERY_SAFE)
            out.append(text)
            out.append(part)
        return "".join(out)


def url_pattern(endpoint: str, *variables: str, **fixed: object) -> UrlPattern:
    """The template global: `{% set book = url_pattern('scheduling.book', 'time', date=d) %}`."""
    return UrlPattern(endpoint, *variables, **fixed)
