"""Demo data for development: one account per role and a few patients. Never in production."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from clinic.auth import mfa
from clinic.auth import services as accounts
from clinic.auth.models import Role, User
from clinic.extensions import db
from clinic.patients.models import Sex
from clinic.patients.services import register_patient


@dataclass(frozen=True)
class DemoLogin:
    role: Role
    email: str
    password: str
    full_name: str
    patient_key: str | None = None


DEMO_PATIENTS = {
    "okafor": dict(
        given_name="Grace",
        family_name="Okafor",
        date_of_birth=date(1968, 4, 12),
        sex=Sex.FEMALE,
        phone="+1 617 555 0142",
        email="grace.okafor@example.com",
    ),
    "lindqvist": dict(
        given_name="Erik",
        family_name="Lindqvist",
        date_of_birth=date(1975, 9, 3),
        sex=Sex.MALE,
        phone="+1 617 555 0178",
        email="erik.l@example.com",
    ),
    "ramirez": dict(
        given_name="Sofia",
        family_name="Ramirez",
        date_of_birth=date(1982, 1, 27),
        sex=Sex.FEMALE,
        phone="+1 617 555 0110",
        email=None,
    ),
    "chen": dict(
        given_name="Wei",
        family_name="Chen",
        date_of_birth=date(1959, 11, 30),
        sex=Sex.MALE,
        phone="+1 617 555 0199",
        email="wei.chen@example.com",
    ),
}

DEMO_LOGINS = (
    DemoLogin(Role.ADMIN, "admin@demo.example.com", "Admin demo Cedar-47", "Alex Morgan"),
    DemoLogin(Role.FRONT_DESK, "desk@demo.example.com", "Desk demo Maple-47", "Jordan Reyes"),
    DemoLogin(
        Role.PROVIDER, "dr.patel@demo.example.com", "Provider demo Birch-47", "Dr. Priya Patel"
    ),
    DemoLogin(
        Role.PROVIDER, "dr.novak@demo.example.com", "Provider demo Birch-47", "Dr. Tomas Novak"
    ),
    DemoLogin(
        Role.CLINICAL_STAFF, "nurse@demo.example.com", "Staff demo Willow-47", "Sam Whitaker, RN"
    ),
    DemoLogin(
        Role.PATIENT,
        "grace.okafor@example.com",
        "Patient demo Aspen-47",
        "Grace Okafor",
        patient_key="okafor",
    ),
    DemoLogin(
        Role.PATIENT,
        "erik.l@example.com",
        "Patient demo Rowan-47",
        "Erik Lindqvist",
        patient_key="lindqvist",
    ),
)


# Fixed authenticator secrets of the demo accounts that must sign in with a code (development
# only: `flask demo logins` prints them so a person can add them to an authenticator app).
DEMO_TOTP_SECRETS = {
    "admin@demo.example.com": "CJTDEMOADMINCEDRALEXMORGANDEMOAA",
    "dr.patel@demo.example.com": "CJTDEMOPATELBRCHPRIYAPATELDEMOAA",
    "dr.novak@demo.example.com": "CJTDEMONOVAKBRCHTOMASNOVAKDEMOAA",
}


def database_is_empty() -> bool:
    return db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def load_demo_data() -> None:
    """Create the demo patients and accounts (the caller commits)."""
    patients = {key: register_patient(**fields) for key, fields in DEMO_PATIENTS.items()}
    portal_users = {}
    for login in DEMO_LOGINS:
        user = accounts.create_user(
            email=login.email,
            full_name=login.full_name,
            role=login.role,
            password=login.password,
            patient_mrn=patients[login.patient_key].mrn if login.patient_key else None,
            by=None,
        )
        if login.patient_key:
            portal_users[login.patient_key] = user
        if login.email in DEMO_TOTP_SECRETS:
            mfa.enrol_with_secret(user, DEMO_TOTP_SECRETS[login.email])
    from clinic.instructions.services import load_samples
    from clinic.journeys.demo import load_journeys_demo, load_registry_cohort
    from clinic.outcomes.demo import load_outcomes_demo, load_registry_demo
    from clinic.scheduling.demo import load_scheduling_demo
    from clinic.scheduling.recall_demo import load_recalls_demo

    load_samples()
    load_scheduling_demo()
    load_journeys_demo()
    load_recalls_demo()
    load_outcomes_demo(portal_users)
    load_registry_demo(load_registry_cohort(), portal_users)


def demo_logins_table() -> str:
    width = max(len(login.email) for login in DEMO_LOGINS)
    lines = [f"{'role':<15} {'e-mail':<{width}}  {'password':<22}  authenticator secret"]
    for login in DEMO_LOGINS:
        secret = DEMO_TOTP_SECRETS.get(login.email, "-")
        lines.append(
            f"{login.role.value:<15} {login.email:<{width}}  {login.password:<22}  {secret}"
        )
    lines.append(
        "\nAdd a secret to an authenticator app (time-based, 6 digits, 30 seconds) by hand, "
        'or print a code with:\n  .venv/bin/python -c "import pyotp; '
        "print(pyotp.TOTP('<secret>').now())\""
    )
    return "\n".join(lines)
