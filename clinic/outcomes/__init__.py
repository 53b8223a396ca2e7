"""Outcomes wing: questionnaires defined as data, their scoring, patients' progress, adverse
events, and the outcomes registry (cohort figures and exports)."""

from types import SimpleNamespace

from flask import Blueprint

bp = Blueprint("outcomes", __name__)


@bp.app_template_global()
def safety_alerts() -> SimpleNamespace:
    """Serious adverse events awaiting review and open patient concerns (for the worklist)."""
    from clinic.outcomes import adverse

    return SimpleNamespace(
        serious=adverse.serious_awaiting_review(), concerns=adverse.open_concerns()
    )


from clinic.outcomes import routes  # noqa: E402,F401  - registers the views on bp
