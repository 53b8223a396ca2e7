"""Outcomes routes: patients' questionnaires, progress and concerns; staff pages; the registry."""

from types import SimpleNamespace

from clinic.outcomes import adverse as adverse_events
from clinic.outcomes import bp


@bp.app_template_global()
def safety_alerts() -> SimpleNamespace:
    """Serious adverse events awaiting review (their names) and how many patient concerns are
    open (for the worklist)."""
    return SimpleNamespace(
        serious=adverse_events.serious_alerts(), concerns=adverse_events.open_concern_count()
    )


from clinic.outcomes.routes import adverse, patient, registry, staff  # noqa: E402,F401
