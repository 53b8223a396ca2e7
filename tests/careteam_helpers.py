"""Putting a clinician on a patient's care team, for tests about something else."""

from __future__ import annotations

from datetime import datetime, timedelta

from clinic.auth.models import Role, User
from clinic.careteam.models import JourneyMember, TeamRole
from clinic.extensions import db
from clinic.journeys import models as m
from clinic.journeys.states import Therapy
from clinic.models.base import utcnow
from clinic.patients.models import Patient
from tests import factories


def join_care_team(user: User, patient: Patient) -> m.Journey:
    """An open journey of `patient` with `user` as its responsible provider (a provider) or an
    assigned member (clinical staff)."""
    provider = user if user.role is Role.PROVIDER else factories.make_user(Role.PROVIDER)
    journey = m.Journey(patient_id=patient.id, therapy=Therapy.PRP, provider_id=provider.id)
    db.session.add(journey)
    db.session.flush()
    if user.role is not Role.PROVIDER:
        db.session.add(
            JourneyMember(journey_id=journey.id, user_id=user.id, team_role=TeamRole.CLINICAL_STAFF)
        )
        db.session.flush()
    return journey


def appointment_today(user: User, patient: Patient):
    """A booked visit with `user` starting now (puts them on the care team for today)."""
    from tests.scheduling.factories import make_appointment

    start = utcnow().replace(microsecond=0) - timedelta(minutes=1)
    return make_appointment(starts_at=start, provider=user, patient=patient, minutes=30)


def in_past(hours: int = 1) -> datetime:
    return utcnow() - timedelta(hours=hours)
