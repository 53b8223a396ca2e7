"""Record factories for tests (factory_boy), sharing one pre-computed password hash."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import factory
from factory.alchemy import SQLAlchemyModelFactory

from clinic.auth.models import Role, User
from clinic.auth.passwords import hash_password
from clinic.extensions import db
from clinic.patients.models import Patient, Sex

PASSWORD = "Tidal orchard lantern 42"


@lru_cache(maxsize=1)
def password_hash() -> str:
    return hash_password(PASSWORD)


class PatientFactory(SQLAlchemyModelFactory):
    class Meta:
        model = Patient
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"

    mrn = factory.Sequence(lambda n: f"T{n:07d}")
    given_name = factory.Sequence(lambda n: f"Given{n}")
    family_name = factory.Sequence(lambda n: f"Family{n}")
    date_of_birth = date(1970, 5, 17)
    sex = Sex.FEMALE


class UserFactory(SQLAlchemyModelFactory):
    class Meta:
        model = User
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"

    email = factory.Sequence(lambda n: f"user{n}@test.example.com")
    full_name = factory.Sequence(lambda n: f"Test User {n}")
    role = Role.FRONT_DESK
    password_hash = factory.LazyFunction(password_hash)
    active = True
    session_version = 1
    patient = None


def make_user(role: Role = Role.FRONT_DESK, **kwargs) -> User:
    """A committed-for-this-test user; patient accounts get a patient record of their own."""
    if role is Role.PATIENT and "patient" not in kwargs:
        kwargs["patient"] = PatientFactory()
    return UserFactory(role=role, **kwargs)
