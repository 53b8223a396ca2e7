"""Scoring and what counts as a clinically important change (see shared domain facts).

Pure functions over an Instrument and answers {item_code: value or None (skipped)}.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from clinic.outcomes.instruments import Instrument

Answers = dict[str, int | None]

# Minimal clinically important improvement, in score points (lower scores are better).
MCID_POINTS = {"odi": Decimal("10"), "ndi": Decimal("7.5"), "single": Decimal("2")}
NRS_PERCENT = Decimal("30")


@dataclass(frozen=True)
class Problems:
    missing: tuple[str, ...] = ()  # item codes neither answered nor skipped
    invalid: tuple[str, ...] = ()  # item codes with a value the item does not offer
    too_many_skipped: bool = False

    def __bool__(self) -> bool:
        return bool(self.missing or self.invalid or self.too_many_skipped)


def check(instrument: Instrument, answers: Answers) -> Problems:
    """What stops these answers from being submitted."""
    missing, invalid, skipped = [], [], 0
    for item in instrument.items:
        if item.code not in answers:
            missing.append(item.code)
        elif answers[item.code] is None:
            if item.skippable:
                skipped += 1
            else:
                missing.append(item.code)
        elif answers[item.code] not in item.values:
            invalid.append(item.code)
    return Problems(tuple(missing), tuple(invalid), skipped > instrument.max_skipped)


def _round(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def score(instrument: Instrument, answers: Answers) -> Decimal:
    """The instrument's score for complete answers (call `check` first).

    ODI: percent = sum / (5 × sections answered) × 100. NDI: points on 0–50, prorated over the
    sections answered. Single items and PGIC: the value as entered.
    """
    if check(instrument, answers):
        raise ValueError("answers are incomplete or invalid")
    values = [v for v in answers.values() if v is not None]
    if instrument.scoring == "odi":
        return _round(Decimal(sum(values)) / Decimal(5 * len(values)) * 100)
    if instrument.scoring == "ndi":
        return _round(Decimal(sum(values)) * Decimal(len(instrument.items)) / Decimal(len(values)))
    return Decimal(values[0])


@dataclass(frozen=True)
class Change:
    baseline: Decimal
    current: Decimal
    improvement: Decimal  # positive = better (scores fall as patients improve)
    important: bool
    worse: bool

    @property
    def percent(self) -> Decimal | None:
        if self.baseline == 0:
            return None
        return _round(self.improvement / self.baseline * 100)


def change(instrument: Instrument, baseline: Decimal, current: Decimal) -> Change:
    """Change from baseline and whether it reaches the clinically important threshold."""
    improvement = baseline - current
    if instrument.scoring == "single":
        important = improvement >= MCID_POINTS["single"] or (
            baseline > 0 and improvement * 100 >= NRS_PERCENT * baseline
        )
    else:
        important = improvement >= MCID_POINTS.get(instrument.scoring, Decimal("Infinity"))
    return Change(
        baseline, current, improvement, bool(important and improvement > 0), improvement < 0
    )


def pgic_responder(value: Decimal | int) -> bool:
    """PGIC 1 (very much better) or 2 (much better) counts as a responder."""
    return int(value) in (1, 2)


def threshold(instrument: Instrument, baseline: Decimal) -> Decimal | None:
    """The score at or below which the change is clinically important (for charts)."""
    if instrument.scoring == "single":
        # either criterion suffices, so the easier (higher) of the two scores is the line
        return max(Decimal(0), baseline - MCID_POINTS["single"], baseline * Decimal("0.7"))
    points = MCID_POINTS.get(instrument.scoring)
    return None if points is None else max(Decimal(0), baseline - points)
