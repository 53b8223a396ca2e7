"""Which therapy a patient had and when: the facts that choose their instructions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from clinic.patients.models import Patient


@dataclass(frozen=True)
class Treatment:
    therapy: str | None  # None until a treatment is planned
    injected_on: date | None  # None before the (latest) injection


def treatment_of(patient: Patient) -> Treatment:
    """The patient's latest planned or given treatment (from their journeys)."""
    try:
        from clinic.journeys.instructions_context import latest_treatment
    except ImportError:  # journeys are not installed in this build
        return Treatment(None, None)
    return latest_treatment(patient)
