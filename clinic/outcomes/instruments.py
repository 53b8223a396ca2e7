"""Questionnaire instruments, defined as data (JSON files), never in code or templates.

The package ships sample wording of our own in `instruments/`. A clinic that licenses the
official ODI or NDI wording puts its JSON files (same structure, same `code`, a higher
`version`) in the folder named by INSTRUMENTS_DIR; the newest version of each code wins.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from flask import current_app

SHIPPED_DIR = Path(__file__).resolve().parent / "instruments"
SCORINGS = {"single", "odi", "ndi", "pgic"}


@dataclass(frozen=True)
class Option:
    value: int
    label: str


@dataclass(frozen=True)
class Item:
    code: str
    text: str
    options: tuple[Option, ...]
    skippable: bool

    @property
    def values(self) -> frozenset[int]:
        return frozenset(o.value for o in self.options)

    @property
    def is_scale(self) -> bool:
        """A 0-10 rating, shown as one row of number buttons."""
        return not self.skippable and [o.value for o in self.options] == list(range(11))


@dataclass(frozen=True)
class Instrument:
    code: str
    version: int
    name: str
    short_name: str
    scoring: str
    region: str | None
    max_skipped: int
    min: int
    max: int
    instructions: str
    note: str
    items: tuple[Item, ...]

    def item(self, code: str) -> Item:
        return next(i for i in self.items if i.code == code)


def parse_instrument(data: dict) -> Instrument:
    """An Instrument from its JSON form; raises ValueError when the definition is unusable."""
    if data.get("scoring") not in SCORINGS:
        raise ValueError(f"{data.get('code')}: scoring must be one of {sorted(SCORINGS)}")
    items = tuple(
        Item(
            code=i["code"],
            text=i["text"],
            options=tuple(Option(int(o["value"]), o["label"]) for o in i["options"]),
            skippable=bool(i.get("skippable", False)),
        )
        for i in data["items"]
    )
    if not items or len({i.code for i in items}) != len(items):
        raise ValueError(f"{data.get('code')}: items must be present and uniquely coded")
    return Instrument(
        code=data["code"],
        version=int(data["version"]),
        name=data["name"],
        short_name=data.get("short_name", data["name"]),
        scoring=data["scoring"],
        region=data.get("region"),
        max_skipped=int(data.get("max_skipped", 0)),
        min=int(data["min"]),
        max=int(data["max"]),
        instructions=data.get("instructions", ""),
        note=data.get("note", ""),
        items=items,
    )


def _load_dir(folder: Path) -> list[Instrument]:
    return [
        parse_instrument(json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(folder.glob("*.json"))
    ]


@cache
def _versions_in(shipped: Path, extra: str | None) -> dict[tuple[str, int], Instrument]:
    """The definitions of one configuration, read from disk once per process."""
    found = {(i.code, i.version): i for i in _load_dir(shipped)}
    if extra:
        found.update({(i.code, i.version): i for i in _load_dir(Path(extra))})
    return found


def all_versions() -> dict[tuple[str, int], Instrument]:
    """Every known (code, version), shipped and clinic-provided."""
    return _versions_in(SHIPPED_DIR, current_app.config.get("INSTRUMENTS_DIR"))


def current_instruments() -> dict[str, Instrument]:
    """The newest version of each instrument, by code."""
    newest: dict[str, Instrument] = {}
    for instrument in all_versions().values():
        if instrument.code not in newest or instrument.version > newest[instrument.code].version:
            newest[instrument.code] = instrument
    return newest


def get_instrument(code: str, version: int | None = None) -> Instrument:
    """A definition by code (newest) or by code and version (as a response recorded it)."""
    if version is None:
        return current_instruments()[code]
    return all_versions()[(code, version)]


def disability_instrument_code(region: str | None) -> str:
    """ODI for the low back (lumbar, sacral), NDI for the neck (cervical)."""
    return "ndi" if region == "cervical" else "odi"


def standard_set(region: str | None, *, baseline: bool) -> list[str]:
    """The questionnaires a timepoint asks for: pain, spreading pain, disability, and PGIC
    after treatment (it asks about change, so not at baseline)."""
    codes = ["nrs_pain", "nrs_radiating", disability_instrument_code(region)]
    return codes if baseline else [*codes, "pgic"]
