"""Who may do what: role requirements for routes and record-level checks, in one place.

Every route asks here, so every route gets the same answer. A refusal is a 403 (audited by
the error handler); an anonymous visitor is sent to the login page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, g, has_request_context, request
from flask_login import current_user
from werkzeug.exceptions import Forbidden

from clinic.auth.models import Role, User
from clinic.careteam import services as team
from clinic.careteam.services import covering_provider_ids
from clinic.extensions import login_manager
from clinic.journeys.states import StageKind, Therapy
from clinic.patients.models import Patient

ALL_STAFF = frozenset({Role.ADMIN, Role.FRONT_DESK, Role.PROVIDER, Role.CLINICAL_STAFF})
CLINICAL = frozenset({Role.PROVIDER, Role.CLINICAL_STAFF})
ADMIN_ONLY = frozenset({Role.ADMIN})
PATIENTS = frozenset({Role.PATIENT})
FRONT_DESK = frozenset({Role.FRONT_DESK, Role.ADMIN})  # registration and booking


def role_allowed(user: Any, roles: Iterable[Role]) -> bool:
    return bool(user and user.is_authenticated and user.role in frozenset(roles))


def _guard(roles: frozenset[Role]) -> Any:
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if current_user.role not in roles:
        abort(403)
    return None


def require_roles(*roles: Role) -> Callable:
    """Route decorator: only signed-in users holding one of these roles get through."""
    allowed = frozenset(roles)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            refused = _guard(allowed)
            return refused if refused is not None else view(*args, **kwargs)

        wrapped.allowed_roles = allowed  # read by the route × role test
        return wrapped

    return decorator


def restrict_blueprint(bp: Blueprint, roles: Iterable[Role], public: Iterable[str] = ()) -> None:
    """Every route of this blueprint requires one of these roles (checked before the view),
    except the `public` endpoints, which check a secret of their own (e.g. a feed token)."""
    allowed, open_endpoints = frozenset(roles), frozenset(public)
    bp.before_request(lambda: None if request.endpoint in open_endpoints else _guard(allowed))


# --- record-level checks -------------------------------------------------------------------


def can_view_patient_demographics(user: User, patient: Patient) -> bool:
    """Staff see every patient's demographics; a patient sees only their own."""
    if user.role in ALL_STAFF:
        return True
    return user.role is Role.PATIENT and user.patient_id == patient.id


def can_view_clinical(user: User, patient: Patient) -> bool:
    """Clinical notes and results: the patient's care team (or a break-glass grant), or the
    patient themself."""
    if user.role in CLINICAL:
        return care_team_access(user, patient.id) is not None
    return user.role is Role.PATIENT and user.patient_id == patient.id


class OutsideCareTeam(Forbidden):
    """A clinician asked for a patient outside their care team: offer break-glass (403).

    `back` is the page a form sent from elsewhere (a POST) belongs to, where a grant leads.
    """

    def __init__(self, patient: Patient, back: str | None = None) -> None:
        super().__init__("This patient is not in your care team.")
        self.patient = patient
        self.back = back


def care_team_access(user: User, patient_id: int) -> str | None:
    """How a clinician reaches this patient: "team", "break_glass", or None (not at all).
    A page view (GET) works it out once (its loader and its template both ask); a change may
    alter it mid-request, so a POST asks the database each time."""
    if user.role not in CLINICAL:
        return None
    if not (has_request_context() and request.method == "GET"):
        return _care_team_access(user, patient_id)
    known = g.setdefault("care_team_access", {})
    key = (user.id, patient_id)
    if key not in known:
        known[key] = _care_team_access(user, patient_id)
    return known[key]


def _care_team_access(user: User, patient_id: int) -> str | None:
    return team.access_to(user, patient_id)


def ensure_clinical_access(user: User, patient: Patient, *, back: str | None = None) -> None:
    """403 for roles without clinical access; the break-glass offer for clinicians outside
    the patient's care team; nothing for the team, a break-glass grant or the patient.

    `back`: the page to return to after a break-glass grant when a form was sent (a POST).
    """
    if user.role in CLINICAL:
        if care_team_access(user, patient.id) is None:
            raise OutsideCareTeam(patient, back)
        return
    ensure(user.role is Role.PATIENT and user.patient_id == patient.id)


def can_answer_questionnaire(user: User, response) -> bool:
    """A patient answers only their own questionnaires; clinical staff may enter for them."""
    if user.role is Role.PATIENT:
        return user.patient_id == response.patient_id
    return user.role in CLINICAL


def can_register_patients(user: User) -> bool:
    """Registering and editing demographics: the front desk (and admins covering it)."""
    return user.role in FRONT_DESK


def can_book(user: User) -> bool:
    """Booking, rescheduling, cancelling, check-in and no-show: the front desk."""
    return user.role in FRONT_DESK


def can_set_appointment_status(user: User, target_status: str) -> bool:
    """Starting and completing a visit is for anyone on staff; the rest is the front desk's."""
    if target_status in ("in_progress", "completed"):
        return user.role in ALL_STAFF
    return can_book(user)


def can_export_calendar(user: User, clinician: User) -> bool:
    """The front desk exports anyone's calendar; a clinician exports their own."""
    return can_book(user) or user.id == clinician.id


def can_manage_resources(user: User) -> bool:
    """Rooms and working hours."""
    return user.role is Role.ADMIN


def can_manage_users(user: User) -> bool:
    return user.role is Role.ADMIN


def ensure(allowed: bool, reason: str | None = None) -> None:
    """Abort with 403 unless the check passed; `reason` is shown on the refusal page."""
    if not allowed:
        abort(403, description=reason) if reason else abort(403)


def ensure_no_refusal(refusal: str | None) -> None:
    """Abort with 403 showing the refusal, when there is one."""
    ensure(refusal is None, refusal)


# --- the clinical journey ------------------------------------------------------------------
# Who may work each stage (domain: evaluation, consent, marrow / fat harvest, injection and
# signing are the provider's; blood draw, processing and recovery checks are the clinical team's).


def can_open_journey(user: User) -> bool:
    return user.role is Role.PROVIDER


def can_view_journey(user: User, journey: Any) -> bool:
    """Stage details are clinical: the patient's care team only (front desk gets 403)."""
    return user.role in CLINICAL and care_team_access(user, journey.patient_id) is not None


def can_manage_journey(user: User, journey: Any) -> bool:
    """Ending a journey, its targets, diagnoses and repeat cycles: a provider's decisions."""
    return user.role is Role.PROVIDER


def can_change_team(user: User, journey: Any) -> bool:
    """Assignments: an administrator, or the journey's responsible provider."""
    if user.role is Role.ADMIN:
        return True
    return user.role is Role.PROVIDER and journey.provider_id == user.id


def can_break_glass(user: User) -> bool:
    return user.role in CLINICAL


def stage_work_refusal(user: User, stage: Any) -> str | None:
    """Why this user may not record or complete this stage, or None when they may."""
    if user.role is Role.PROVIDER:
        return None
    if user.role is not Role.CLINICAL_STAFF:
        return "Only the clinical team records journey stages."
    kind = stage.kind
    if kind in (StageKind.PROCESSING, StageKind.RECOVERY):
        return None
    if kind is StageKind.COLLECTION and stage.journey.therapy in (
        Therapy.PRP,
        Therapy.GROWTH_FACTOR,
    ):
        return None
    if kind is StageKind.COLLECTION:
        return "A bone-marrow or fat harvest is recorded by a provider."
    return f"The {kind.label.lower()} stage is recorded by a provider."


def can_work_stage(user: User, stage: Any) -> bool:
    return stage_work_refusal(user, stage) is None


def sign_refusal(user: User, stage: Any) -> str | None:
    """Why this user may not sign (or void) this stage, or None when they may: only the
    journey's responsible provider or a covering provider assigned to it signs."""
    if user.role is not Role.PROVIDER:
        return "Signing a stage is a provider's act."
    journey = stage.journey
    if user.id == journey.provider_id or user.id in covering_provider_ids(journey):
        return None
    return (
        f"Only the responsible provider ({journey.provider.full_name}) or a covering provider "
        "assigned to this journey signs its stages."
    )


def can_sign_stage(user: User, stage: Any) -> bool:
    return sign_refusal(user, stage) is None


def can_manage_catalogues(user: User) -> bool:
    return user.role is Role.ADMIN
