"""Outcomes routes: the patient's own questionnaires and progress, and the staff pages."""

from clinic.outcomes.routes import patient, staff  # noqa: F401
