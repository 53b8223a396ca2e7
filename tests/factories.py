"""Record factories for tests (factory_boy), sharing one pre-computed password hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import date
from functools import lru_cache

import factory
import pyotp
from factory.alchemy import SQLAlchemyModelFactory

from clinic.auth import mfa
from clinic.auth.models import Role, SecondFactor, SignedInSession, User
from clinic.auth.passwords import hash_password
from clinic.extensions import db
from clinic.models.base import utcnow
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


def make_user(role: Role = Role.FRONT_DESK, *, enrolled: bool | None = None, **kwargs) -> User:
    """A committed-for-this-test user; patient accounts get a patient record of their own.

    Accounts whose role needs two-step sign-in are enrolled with TOTP_SECRET unless
    `enrolled=False` (other staff are enrolled only with `enrolled=True`).
    """
    if role is Role.PATIENT and "patient" not in kwargs:
        kwargs["patient"] = PatientFactory()
    user = UserFactory(role=role, **kwargs)
    if enrolled or (enrolled is None and role in (Role.ADMIN, Role.PROVIDER)):
        enrol(user)
    return user


TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # the test suite only


def enrol(user: User, secret: str = TOTP_SECRET) -> None:
    """Give the user a confirmed authenticator (no recovery codes: tests that need them
    enrol through clinic.auth.mfa)."""
    db.session.add(
        SecondFactor(
            user_id=user.id,
            secret_encrypted=mfa._fernet().encrypt(secret.encode()).decode(),
            confirmed_at=utcnow(),
        )
    )
    db.session.flush()


def current_code(user: User) -> str:
    """A code the app would show now, accepted even if one was used this half-minute."""
    factor = mfa.factor_of(user)
    assert factor is not None, "the user has no second factor"
    factor.last_step = None  # tests sign in more often than a person can
    db.session.flush()
    return pyotp.TOTP(mfa.secret_of(factor)).now()


def register_session(user: User) -> str:
    """A row in the user's sessions list; the token goes in a hand-written session as "sid"."""
    token = secrets.token_urlsafe(16)
    db.session.add(
        SignedInSession(user_id=user.id, token_hash=hashlib.sha256(token.encode()).hexdigest())
    )
    db.session.flush()
    return token
