"""Outcomes routes: patients' questionnaires, progress and concerns; staff pages; the registry."""

from clinic.outcomes.routes import adverse, patient, registry, staff  # noqa: F401
