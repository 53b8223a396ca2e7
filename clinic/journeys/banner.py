"""The patient banner on every clinical page: who, allergies, blood thinners, alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask import g

from clinic.journeys.services import screening
from clinic.patients.models import Patient
from clinic.timeutil import clinic_today


@dataclass
class Banner:
    patient: Patient
    age: int
    allergies: list[screening.AllergyLine]
    medicines: list[screening.MedicineLine]
    alerts: list[tuple[str, str]] = field(default_factory=list)  # (level, text)
    earlier: list[screening.EarlierAbsolute] = field(default_factory=list)


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def banner_for(patient: Patient) -> Banner:
    """What the banner shows for this patient."""
    facts = screening.safety_facts(patient)
    banner = Banner(
        patient=patient,
        age=age_on(patient.date_of_birth, clinic_today()),
        allergies=facts.allergies,
        medicines=facts.medicines,
        earlier=facts.earlier,
    )
    for earlier in banner.earlier:
        state = "reviewed" if earlier.review else "not yet reviewed"
        level = "info" if earlier.review else "danger"
        text = f"Absolute contraindication ({state}): {'; '.join(earlier.labels)}"
        banner.alerts.append((level, text))
    for label in facts.relative:
        banner.alerts.append(("warning", f"Relative contraindication: {label}"))
    for outcome in facts.screens:
        level = "warning" if outcome.allows_procedure else "danger"
        banner.alerts.append((level, f"Procedure-day screen: {outcome.label.lower()}"))
    return banner


def banner_once(patient: Patient) -> Banner:
    """The banner, worked out once per request (a page shows it and its safety panel)."""
    made = g.setdefault("patient_banners", {})
    if patient.id not in made:
        made[patient.id] = banner_for(patient)
    return made[patient.id]
