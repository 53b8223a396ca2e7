"""Outcomes routes: patients' questionnaires, progress and concerns; staff pages; the registry."""

from clinic.outcomes import adverse as adverse_events
from clinic.outcomes import bp


@bp.app_template_global()
def safety_alerts() -> adverse_events.SafetyAlerts:
    """Serious adverse events awaiting review (their names) and how many patient concerns are
    open (for the worklist)."""
    return adverse_events.safety_alerts()


from clinic.outcomes.routes import adverse, patient, registry, staff  # noqa: E402,F401
