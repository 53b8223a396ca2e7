"""The services behind the race tests, one request at a time: running MRNs, unique values
refused as Conflicts inside a savepoint, versioned working weeks, answers that move the
questionnaire's version."""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa

from clinic.auth import services as accounts
from clinic.auth.models import Role
from clinic.errors import Conflict, StaleWrite
from clinic.models.savepoint import unique_or_conflict
from clinic.outcomes import services as outcomes
from clinic.patients.models import Patient, Sex
from clinic.patients.services import next_mrn, register_patient
from clinic.scheduling import resources
from clinic.scheduling.models import WorkingHours
from tests.factories import PatientFactory


def test_mrns_run_on_by_one_in_the_clinic_format(db):
    first, second = next_mrn(), next_mrn()
    assert re.fullmatch(r"CJ\d{6}", first)
    assert int(second[2:]) == int(first[2:]) + 1
    patient = register_patient(
        given_name="Ada",
        family_name="Runningnumber",
        date_of_birth=date(1970, 1, 2),
        sex=Sex.FEMALE,
    )
    assert int(patient.mrn[2:]) == int(second[2:]) + 1


def test_a_unique_violation_is_a_conflict_and_the_transaction_carries_on(db):
    taken = PatientFactory()
    db.session.flush()
    with pytest.raises(Conflict) as refused, unique_or_conflict("That number is taken.", "mrn"):
        db.session.add(
            Patient(
                mrn=taken.mrn,
                given_name="Bo",
                family_name="Twin",
                date_of_birth=date(1970, 1, 1),
                sex=Sex.MALE,
            )
        )
    assert refused.value.status == 409 and refused.value.field == "mrn"
    assert db.session.scalar(sa.select(sa.func.count(Patient.id))) >= 1  # still usable
    PatientFactory()
    db.session.flush()


def test_an_email_taken_is_a_conflict_beside_the_email(db, make_user):
    admin, other = make_user(Role.ADMIN), make_user(Role.FRONT_DESK)
    with pytest.raises(Conflict) as refused:
        accounts.create_user(
            email=other.email.upper(),
            full_name="Copy",
            role=Role.FRONT_DESK,
            password="Quiet harbour meadow 77",
            by=admin,
        )
    assert refused.value.field == "email" and "already exists" in refused.value.message
    with pytest.raises(Conflict):
        accounts.update_user(
            admin, email=other.email, full_name=admin.full_name, role=Role.ADMIN, by=admin
        )


def test_a_week_saved_from_an_older_version_is_stale_and_changes_nothing(db, make_user):
    admin, clinician = make_user(Role.ADMIN), make_user(Role.PROVIDER)
    monday = {0: (time(8), time(12))}
    assert resources.week_version(clinician.id) == 0
    resources.set_week_hours(clinician, monday, version=0, by=admin)
    assert resources.week_version(clinician.id) == 1
    for stale in (0, 5):
        with pytest.raises(StaleWrite):
            resources.set_week_hours(clinician, {0: (time(9), time(17))}, version=stale, by=admin)
    resources.set_week_hours(clinician, {0: None, 1: (time(9), time(13))}, version=1, by=admin)
    rows = db.session.scalars(
        sa.select(WorkingHours).where(WorkingHours.clinician_id == clinician.id)
    ).all()
    assert [(r.weekday, r.starts) for r in rows] == [(1, time(9))]
    assert resources.week_version(clinician.id) == 2


def test_every_saved_answer_moves_the_version_and_a_stale_tab_is_refused(db, make_user):
    patient_user = make_user(Role.PATIENT)
    (response,) = outcomes.assign(
        patient_user.patient,
        ["nrs_pain"],
        timepoint="baseline",
        available_from=date.today() - timedelta(days=1),
        due_by=None,
        by=None,
    )
    outcomes.save_answers(response, {"axial": 5}, by=patient_user, submit=False)
    opened = response.version  # a second tab opens here
    outcomes.save_answers(response, {"axial": 6}, by=patient_user, submit=False, version=opened)
    assert response.version == opened + 1  # only an answer changed, the version still moved
    with pytest.raises(StaleWrite):
        outcomes.save_answers(response, {"axial": 2}, by=patient_user, submit=False, version=opened)
    assert response.answer_map() == {"axial": 6}
