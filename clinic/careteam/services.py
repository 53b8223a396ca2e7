"""The care team: who it holds, changing assignments, and break-glass access with its review.

Services flush and write the audit row; they never commit and never read the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa

from clinic.auth.models import Role, User
from clinic.careteam.models import BreakGlass, BreakGlassReason, JourneyMember, TeamRole
from clinic.errors import NO_PAGE, Conflict, NoPage, Refused, StaleWrite
from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.states import OPEN_JOURNEY
from clinic.models import audit
from clinic.models.base import UTCDateTime, utcnow
from clinic.patients.models import Patient
from clinic.scheduling.models import LIVE_STATUSES, Appointment, VisitOverlaps
from clinic.timeutil import clinic_day_bounds, clinic_today

EXPLANATION_MAX = 500


def _team_patient_selects(user_id: int | sa.ColumnElement[int], start, end) -> list[sa.Select]:
    """SELECTs of patient ids whose care team includes this user, one per way in (today's
    appointments: those overlapping `start`..`end`)."""
    open_journey = m.Journey.status.in_(OPEN_JOURNEY)
    return [
        sa.select(m.Journey.patient_id).where(open_journey, m.Journey.provider_id == user_id),
        sa.select(m.Journey.patient_id)
        .join(JourneyMember, JourneyMember.journey_id == m.Journey.id)
        .where(open_journey, JourneyMember.user_id == user_id),
        sa.select(Appointment.patient_id).where(
            Appointment.provider_id == user_id,
            Appointment.status.in_(list(LIVE_STATUSES)),
            VisitOverlaps(start, end),
        ),
    ]


def team_patients(user: User) -> sa.Select:
    """A SELECT of the ids of every patient whose care team includes this user (break-glass
    grants not counted), for `patient_id.in_(...)`: the database joins it as a semi-join
    instead of receiving thousands of bound ids."""
    if user.role not in (Role.PROVIDER, Role.CLINICAL_STAFF):
        return sa.select(Patient.id).where(sa.false())
    start, end = clinic_day_bounds(clinic_today())
    union = sa.union(*_team_patient_selects(user.id, start, end)).subquery()
    return sa.select(union.c[0])


def team_patients_of(
    user_id: sa.ColumnElement[int], start: sa.ColumnElement, end: sa.ColumnElement
) -> sa.Select:
    """`team_patients` with the user and today's bounds as bound parameters, for a statement
    built once and run for every clinician. A patient may come back more than once (UNION ALL):
    an `IN` probe does not mind, and the database skips sorting or hashing the team to drop
    the repeats (thousands of patients for a provider)."""
    union = sa.union_all(*_team_patient_selects(user_id, start, end)).subquery()
    return sa.select(union.c[0])


def team_patient_ids(user: User) -> set[int]:
    """Every patient whose care team includes this user (break-glass grants not counted)."""
    if user.role not in (Role.PROVIDER, Role.CLINICAL_STAFF):
        return set()
    return set(db.session.scalars(team_patients(user)))


def _access_statement() -> sa.Select:
    """Whether a user is on a patient's care team, and whether they hold an unexpired
    break-glass grant for them, in one statement with the user, patient, today's bounds and the
    time as parameters: built once (building it and working out its cache key each time cost
    more than the database took to answer)."""
    user_id = sa.bindparam("ct_user", type_=sa.Integer)
    patient_id = sa.bindparam("ct_patient", type_=sa.Integer)
    now = sa.bindparam("ct_now", type_=UTCDateTime())
    selects = [
        s.where(s.selected_columns[0] == patient_id)
        for s in _team_patient_selects(
            user_id,
            sa.bindparam("ct_day_start", type_=UTCDateTime()),
            sa.bindparam("ct_day_end", type_=UTCDateTime()),
        )
    ]
    granted = sa.select(BreakGlass.id).where(
        BreakGlass.user_id == user_id,
        BreakGlass.patient_id == patient_id,
        BreakGlass.granted_at <= now,
        BreakGlass.expires_at > now,
    )
    return sa.select(
        sa.exists(sa.union(*selects).subquery().select()).label("in_team"),
        sa.exists(granted).label("break_glass"),
    )


_ACCESS = _access_statement()


def access_to(user: User, patient_id: int, now: datetime | None = None) -> str | None:
    """How this user reaches the patient's clinical record: "team" (their care team),
    "break_glass" (an unexpired grant), or None; one statement, none for other roles."""
    if user.role not in (Role.PROVIDER, Role.CLINICAL_STAFF):
        return None
    start, end = clinic_day_bounds(clinic_today())
    params = {
        "ct_user": user.id,
        "ct_patient": patient_id,
        "ct_day_start": start,
        "ct_day_end": end,
        "ct_now": now or utcnow(),
    }
    db.session.flush()  # as the ORM's execute would: a grant made in this request counts
    in_team, glass = db.session.connection().execute(_ACCESS, params).one()
    if in_team:
        return "team"
    return "break_glass" if glass else None


def in_care_team(user: User, patient_id: int) -> bool:
    """Whether this clinician is on the patient's care team (one query)."""
    return access_to(user, patient_id) == "team"


def active_break_glass(
    user: User, patient_id: int, now: datetime | None = None
) -> BreakGlass | None:
    """The user's unexpired break-glass grant for this patient, if any."""
    now = now or utcnow()
    return db.session.scalars(
        sa.select(BreakGlass)
        .where(
            BreakGlass.user_id == user.id,
            BreakGlass.patient_id == patient_id,
            BreakGlass.granted_at <= now,
            BreakGlass.expires_at > now,
        )
        .order_by(BreakGlass.expires_at.desc())
        .limit(1)
    ).first()


def grant_break_glass(
    user: User, patient: Patient, reason: BreakGlassReason, explanation: str, hours: int
) -> BreakGlass:
    """Open time-limited access to a patient outside the care team, flagged for review."""
    if user.role not in (Role.PROVIDER, Role.CLINICAL_STAFF):
        raise Refused("Only clinicians may open a chart in an emergency.", "reason")
    explanation = " ".join((explanation or "").split())
    if len(explanation) < 10:
        raise Refused("Say in a sentence why you need this chart now.", "explanation")
    now = utcnow()
    grant = BreakGlass(
        user_id=user.id,
        patient_id=patient.id,
        reason=reason,
        explanation=explanation[:EXPLANATION_MAX],
        granted_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    db.session.add(grant)
    db.session.flush()
    audit.record(
        "break_glass.granted",
        actor=user,
        obj=grant,
        patient_id=patient.id,
        detail=f"flagged for review; {reason.value}; {hours} h",
    )
    return grant


def review_break_glass(grant: BreakGlass, note: str, by: User) -> None:
    """Mark a break-glass use reviewed by an administrator."""
    if grant.reviewed_at is not None:
        raise Conflict("This use was already reviewed.")
    grant.reviewed_at = utcnow()
    grant.reviewed_by_id = by.id
    grant.review_note = " ".join((note or "").split())[:EXPLANATION_MAX] or None
    db.session.flush()
    audit.record("break_glass.reviewed", actor=by, obj=grant, patient_id=grant.patient_id)


def break_glass_uses(show: str = "open", limit: int = 200) -> list[BreakGlass]:
    """Break-glass grants, newest first: those awaiting review, or all."""
    query = sa.select(BreakGlass).order_by(BreakGlass.granted_at.desc()).limit(limit)
    if show == "open":
        query = query.where(BreakGlass.reviewed_at.is_(None))
    return list(db.session.scalars(query))


# --- assignments -----------------------------------------------------------------------------


@dataclass
class Team:
    journey: m.Journey
    members: list[JourneyMember]


def team_of(journey: m.Journey) -> Team:
    members = db.session.scalars(
        sa.select(JourneyMember)
        .where(JourneyMember.journey_id == journey.id)
        .order_by(JourneyMember.team_role, JourneyMember.id)
    ).all()
    return Team(journey, list(members))


def covering_provider_ids(journey: m.Journey) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(JourneyMember.user_id).where(
                JourneyMember.journey_id == journey.id,
                JourneyMember.team_role == TeamRole.COVERING_PROVIDER,
            )
        )
    )


def assignable_users(journey: m.Journey) -> list[User]:
    """Active providers and clinical staff not yet on this journey's team."""
    taken = sa.select(JourneyMember.user_id).where(JourneyMember.journey_id == journey.id)
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.active,
                User.role.in_([Role.PROVIDER, Role.CLINICAL_STAFF]),
                User.id != journey.provider_id,
                User.id.not_in(taken),
            )
            .order_by(User.full_name)
        )
    )


def add_member(journey: m.Journey, user: User | None, by: User) -> JourneyMember:
    """Assign a covering provider or clinical staff member (their role decides which)."""
    if journey.status not in OPEN_JOURNEY:
        raise Refused("This journey has ended; its team can no longer change.", "user_id")
    if user is None or not user.active or user.role not in (Role.PROVIDER, Role.CLINICAL_STAFF):
        raise Refused("Choose an active provider or clinical staff member.", "user_id")
    if user.id == journey.provider_id:
        raise Refused("The responsible provider is already on the team.", "user_id")
    exists = db.session.scalar(
        sa.select(JourneyMember.id).where(
            JourneyMember.journey_id == journey.id, JourneyMember.user_id == user.id
        )
    )
    if exists:
        raise Conflict(f"{user.full_name} is already on the team.")
    role = TeamRole.COVERING_PROVIDER if user.role is Role.PROVIDER else TeamRole.CLINICAL_STAFF
    member = JourneyMember(
        journey_id=journey.id, user_id=user.id, team_role=role, added_by_id=by.id
    )
    db.session.add(member)
    db.session.flush()
    audit.record(
        "care_team.assigned",
        actor=by,
        obj=journey,
        patient_id=journey.patient_id,
        detail=f"{role.value} user {user.id}",
    )
    return member


def remove_member(journey: m.Journey, member: JourneyMember, by: User) -> None:
    """Take a covering provider or staff member off the journey's team."""
    if member.journey_id != journey.id:
        raise Refused("That person is not on this journey's team.", "user_id")
    user_id, role = member.user_id, member.team_role
    db.session.delete(member)
    _touch(journey)
    db.session.flush()
    audit.record(
        "care_team.unassigned",
        actor=by,
        obj=journey,
        patient_id=journey.patient_id,
        detail=f"{role.value} user {user_id}",
    )


def _touch(journey: m.Journey) -> None:
    """The journey's team changed: its `updated_at` moves on (what the worklist's kept rows
    watch), without a new version (an open form on the journey itself stays good)."""
    db.session.execute(
        sa.update(m.Journey).where(m.Journey.id == journey.id).values(updated_at=utcnow()),
        execution_options={"synchronize_session": False},
    )


def change_responsible_provider(
    journey: m.Journey, provider: User | None, by: User, shown: str | NoPage | None = NO_PAGE
) -> None:
    """Hand the journey to another provider (an administrator's decision). `shown` is the
    provider id the page showed: when someone handed the journey on since, this is stale."""
    if not isinstance(shown, NoPage) and (shown or "").strip() != str(journey.provider_id):
        now = db.session.get(User, journey.provider_id)
        raise StaleWrite(
            "Someone else changed the responsible provider after you opened this page: it is "
            f"now {now.full_name if now else 'someone else'}. Choose again if a change is "
            "still needed.",
            "provider_id",
        )
    if provider is None or not provider.active or provider.role is not Role.PROVIDER:
        raise Refused("Choose an active provider.", "provider_id")
    if provider.id == journey.provider_id:
        return
    previous = journey.provider_id
    member = db.session.scalars(
        sa.select(JourneyMember).where(
            JourneyMember.journey_id == journey.id, JourneyMember.user_id == provider.id
        )
    ).first()
    if member is not None:
        db.session.delete(member)
    journey.provider_id = provider.id
    db.session.flush()
    audit.record(
        "care_team.provider_changed",
        actor=by,
        obj=journey,
        patient_id=journey.patient_id,
        detail=f"user {previous} -> user {provider.id}",
    )


def open_journeys_with_teams(limit: int = 300) -> list[m.Journey]:
    """Open journeys for the administrator's assignment list, newest first."""
    return list(
        db.session.scalars(
            sa.select(m.Journey)
            .where(m.Journey.status.in_(OPEN_JOURNEY))
            .options(sa.orm.joinedload(m.Journey.patient), sa.orm.joinedload(m.Journey.provider))
            .order_by(m.Journey.id.desc())
            .limit(limit)
        )
    )


class TeamLine(NamedTuple):
    """A journey's assigned member as the chart names them."""

    user_id: int
    full_name: str
    team_role: TeamRole


def members_by_journey(journey_ids: list[int]) -> dict[int, list[TeamLine]]:
    """Every journey's assigned members, by name and role, in one query."""
    found: dict[int, list[TeamLine]] = {i: [] for i in journey_ids}
    if journey_ids:
        for journey_id, user_id, full_name, team_role in db.session.execute(
            sa.select(JourneyMember.journey_id, User.id, User.full_name, JourneyMember.team_role)
            .join(User, User.id == JourneyMember.user_id)
            .where(JourneyMember.journey_id.in_(journey_ids))
            .order_by(JourneyMember.team_role, JourneyMember.id)
        ):
            found[journey_id].append(TeamLine(user_id, full_name, team_role))
    return found
