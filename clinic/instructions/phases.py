"""Recovery phases and which one applies on a given day after the injection."""

from __future__ import annotations

import enum
from datetime import date


class Phase(enum.Enum):
    PRE_PROCEDURE = "pre_procedure"
    DAYS_0_3 = "days_0_3"
    DAYS_4_14 = "days_4_14"
    WEEKS_2_6 = "weeks_2_6"
    AFTER_6_WEEKS = "after_6_weeks"

    @property
    def label(self) -> str:
        return PHASE_LABELS[self]


PHASE_LABELS = {
    Phase.PRE_PROCEDURE: "Before your procedure",
    Phase.DAYS_0_3: "Days 0–3 after",
    Phase.DAYS_4_14: "Days 4–14 after",
    Phase.WEEKS_2_6: "Weeks 2–6 after",
    Phase.AFTER_6_WEEKS: "After 6 weeks",
}

PHASES = list(Phase)


def phase_for_day(days_since_injection: int | None) -> Phase:
    """Day 0 is the injection day: 0–3, 4–14, 15–42 (weeks 2–6), then after 6 weeks."""
    if days_since_injection is None or days_since_injection < 0:
        return Phase.PRE_PROCEDURE
    if days_since_injection <= 3:
        return Phase.DAYS_0_3
    if days_since_injection <= 14:
        return Phase.DAYS_4_14
    if days_since_injection <= 42:
        return Phase.WEEKS_2_6
    return Phase.AFTER_6_WEEKS


def phase_on(injected_on: date | None, today: date) -> Phase:
    return phase_for_day(None if injected_on is None else (today - injected_on).days)
