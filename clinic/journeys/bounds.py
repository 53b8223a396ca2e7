"""Plausible ranges for the clinical numbers on stage records: one table read by the forms
(NumberRange beside the field) and by the models (a CHECK per column in the database).

The ranges are wide on purpose: they stop typing slips (999,999 mL) and tampered posts, not
unusual patients. Units are the column's: mL, ×10³/µL, g/dL, minutes, g (RCF), seconds, mGy.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa


@dataclass(frozen=True)
class Bound:
    """A closed range [low, high]; `above_low` makes the low end open (a volume is > 0)."""

    low: Decimal
    high: Decimal
    above_low: bool = False

    def check_sql(self, column: str) -> str:
        low_op = ">" if self.above_low else ">="
        return f"{column} IS NULL OR ({column} {low_op} {self.low} AND {column} <= {self.high})"

    @property
    def form_min(self) -> Decimal:
        """The smallest value a form accepts (0.01 above an open low end: 2 decimal places)."""
        return self.low + Decimal("0.01") if self.above_low else self.low


def _b(low: int | str, high: int | str, above_low: bool = False) -> Bound:
    return Bound(Decimal(low), Decimal(high), above_low)


BOUNDS: dict[str, dict[str, Bound]] = {
    "evaluation_record": {
        "pain_duration_months": _b(0, 1200),
        "physical_therapy_weeks": _b(0, 520),
        "planned_treatments": _b(0, 10),
    },
    "collection_record": {
        "blood_volume_ml": _b(0, 240),
        "anticoagulant_ml": _b(0, 60),
        "baseline_platelets": _b(0, 10000),
        "baseline_wbc": _b(0, 500),
        "baseline_neutrophils": _b(0, 500),
        "baseline_hb": _b(0, 30),
        "aspirate_ml": _b(0, 240),
        "pull_count": _b(0, 50),
        "pull_size_ml": _b(0, 60),
        "tumescent_ml": _b(0, 2000),
        "lipoaspirate_ml": _b(0, 1000),
    },
    "processing_record": {
        "spin1_g": _b(0, 10000),
        "spin1_minutes": _b(0, 120),
        "spin2_g": _b(0, 10000),
        "spin2_minutes": _b(0, 120),
        "final_volume_ml": _b(0, 60),
        "product_platelets": _b(0, 10000),
        "product_wbc": _b(0, 500),
        "product_neutrophils": _b(0, 500),
        "product_rbc": _b(0, 10),
        "total_nucleated_cells_million": _b(0, 100000),
    },
    "injection_record": {
        "contrast_ml": _b(0, 60),
        "fluoro_seconds": _b(0, 3600),
        "fluoro_dose_mgy": _b(0, 5000),
    },
    "injection_site": {
        "volume_ml": _b(0, 60, above_low=True),
    },
    "day_of_screen": {
        "platelets": _b(0, 10000),
        "hb": _b(0, 30),
        "inr": _b(0, 20),
    },
    "recovery_record": {
        "heart_rate": _b(0, 250),
        "pain_score": _b(0, 10),
    },
}


def bound(table: str, column: str) -> Bound:
    """The range for one column."""
    return BOUNDS[table][column]


def check_constraints(table: str, skip: tuple[str, ...] = ()) -> list:
    """One CHECK per bounded column of `table`, named `<column>_range`."""

    return [
        sa.CheckConstraint(b.check_sql(column), name=f"{column}_range")
        for column, b in BOUNDS[table].items()
        if column not in skip
    ]
