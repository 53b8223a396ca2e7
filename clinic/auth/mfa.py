"""Second factor (TOTP) for staff: enrolment state and code checks. Filled in by the MFA work."""

from __future__ import annotations

from clinic.auth.models import User


def is_enrolled(user: User) -> bool:
    return False


def verify_code(user: User, code: str, consume_recovery: bool = False) -> bool:
    return False
