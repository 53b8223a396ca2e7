"""Account operations: sign-in, sign-out, passwords and user administration.

Services change state, write the audit row and flush; the route commits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from clinic.auth import mfa
from clinic.auth.models import Role, User, end_sessions
from clinic.auth.passwords import hash_password, needs_rehash, password_problems, verify_password
from clinic.auth.reauth import confirm_identity
from clinic.errors import Conflict, Refused
from clinic.extensions import db
from clinic.models import audit
from clinic.models.audit import AuditEvent
from clinic.models.savepoint import is_unique_violation
from clinic.patients.models import Patient
from clinic.transaction import keep_after_rollback

# What other wings do when an account is switched off (the portal voids a patient's open
# sign-in links). They register here, so this wing never imports them.
ON_DEACTIVATE: list[Callable[[User], None]] = []

EMAIL_TAKEN = "An account with this e-mail already exists."
PATIENT_TAKEN = "This patient already has a portal account."


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def authenticate(email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None; every attempt is audited."""
    user = find_user_by_email(email)
    ok = verify_password(user.password_hash if user else None, password)
    if user is None:
        audit.record("auth.login_failed", detail="unknown account")
        return None
    if not ok:
        audit.record("auth.login_failed", actor=user, obj=user, detail="wrong password")
        return None
    if not user.active:
        audit.record("auth.login_failed", actor=user, obj=user, detail="account deactivated")
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)

    if mfa.is_enrolled(user):
        audit.record("auth.password_accepted", actor=user, obj=user, detail="code pending")
    else:
        audit.record("auth.login", actor=user, obj=user)
    db.session.flush()
    return user


def complete_code_step(user: User, code: str) -> bool:
    """The second step of sign-in: a fresh code (or an unused recovery code); audited."""

    if mfa.verify_code(user, code, consume_recovery=True):
        audit.record("auth.login", actor=user, obj=user, detail="with two-step code")
        db.session.flush()
        return True
    keep_after_rollback(action="auth.code_failed", actor=user, obj=user)
    return False


RENEW_CODES_ACTION = "new recovery codes"


def renew_recovery_codes(user: User, password: str, code: str) -> list[str]:
    """A new set of recovery codes for one's own account (every earlier code stops working);
    needs the password and a current code from the authenticator app, not a recovery code."""

    if not mfa.is_enrolled(user):
        raise Refused("Two-step sign-in is not on for your account, so it has no recovery codes.")
    confirm_identity(user, password, code, RENEW_CODES_ACTION, recovery_code_ok=False)
    codes = mfa.new_recovery_codes(user)
    audit.record("mfa.recovery_codes_renewed", actor=user, obj=user)
    db.session.flush()
    return codes


def failed_confirmations(user: User, action: str, since: datetime) -> int:
    """Refused confirmations of `action` (wrong password or code) by the user since `since`."""
    return int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "auth.reauth_failed",
                AuditEvent.occurred_at >= since,
                AuditEvent.actor_id == user.id,
                AuditEvent.detail.startswith(f"{action}:", autoescape=True),
            )
        )
        or 0
    )


def end_sessions_after_failed_checks(user: User, action: str) -> None:
    """Too many wrong confirmations of `action`: every session of the user ends."""
    end_sessions(user)
    audit.record("auth.sessions_ended", actor=user, obj=user, detail=f"{action}: too many tries")
    db.session.flush()


def sign_out_everywhere(user: User) -> None:
    """The user ends all their sessions, this one included."""
    end_sessions(user)
    audit.record("auth.signed_out_everywhere", actor=user, obj=user)
    db.session.flush()


def sign_out(user: User) -> None:
    end_sessions(user)
    audit.record("auth.logout", actor=user, obj=user)
    db.session.flush()


def _check_new_password(user_inputs: tuple[str, ...], password: str, field: str) -> None:
    problems = password_problems(password, user_inputs)
    if problems:
        raise Refused(problems[0], field=field)


def change_password(
    user: User, current_password: str, new_password: str, code: str | None = None
) -> None:
    """The user's own change: needs the current password (and code once enrolled); ends all
    their sessions."""

    if not verify_password(user.password_hash, current_password):
        keep_after_rollback(action="auth.password_change_refused", actor=user, obj=user)
        raise Refused("The current password is not correct.", field="current_password")
    if mfa.is_enrolled(user) and not mfa.verify_code(user, code or "", consume_recovery=True):
        keep_after_rollback(
            action="auth.password_change_refused", actor=user, obj=user, detail="code"
        )
        raise Refused("The code from your authenticator app is not correct.", field="code")
    _check_new_password((user.email, user.full_name), new_password, "new_password")
    user.password_hash = hash_password(new_password)
    end_sessions(user)
    audit.record("auth.password_changed", actor=user, obj=user)
    db.session.flush()


@contextmanager
def _account_savepoint() -> Iterator[None]:
    """Change and flush an account in a SAVEPOINT; an e-mail or patient taken by a simultaneous
    save becomes a Conflict beside its field, and the request's transaction carries on."""
    try:
        with db.session.begin_nested():
            yield
            db.session.flush()
    except IntegrityError as err:
        if not is_unique_violation(err):
            raise
        if "patient_id" in str(err.orig):
            raise Conflict(PATIENT_TAKEN, field="patient_mrn") from err
        raise Conflict(EMAIL_TAKEN, field="email") from err


def _patient_for_role(role: Role, patient_mrn: str | None) -> Patient | None:
    if role is not Role.PATIENT:
        if patient_mrn:
            raise Refused("Only patient accounts link to a patient record.", "patient_mrn")
        return None
    if not patient_mrn:
        raise Refused("A patient account needs the patient's MRN.", field="patient_mrn")
    patient = db.session.scalar(sa.select(Patient).where(Patient.mrn == patient_mrn.strip()))
    if patient is None:
        raise Refused("No patient has this MRN.", field="patient_mrn")
    taken = db.session.scalar(sa.select(User.id).where(User.patient_id == patient.id))
    if taken:
        raise Conflict(PATIENT_TAKEN, field="patient_mrn")
    return patient


def create_user(
    *,
    email: str,
    full_name: str,
    role: Role,
    password: str,
    by: User | None,
    patient_mrn: str | None = None,
) -> User:
    """A new account; `by` is the admin (None from the command line)."""
    email = normalise_email(email)
    if find_user_by_email(email):
        raise Conflict(EMAIL_TAKEN, field="email")
    patient = _patient_for_role(role, patient_mrn)
    _check_new_password((email, full_name), password, "password")
    user = User(
        email=email,
        full_name=full_name.strip(),
        role=role,
        password_hash=hash_password(password),
        patient=patient,
        active=True,
        session_version=1,
    )
    with _account_savepoint():
        db.session.add(user)
    audit.record(
        "user.created",
        actor=by,
        obj=user,
        patient_id=patient.id if patient else None,
        detail=f"role={role.value}",
    )
    return user


def update_user(user: User, *, email: str, full_name: str, role: Role, by: User) -> None:
    """Admin edit of name, e-mail and role (patient links are not changed here)."""
    email = normalise_email(email)
    other = find_user_by_email(email)
    if other is not None and other.id != user.id:
        raise Conflict(EMAIL_TAKEN, field="email")
    if (role is Role.PATIENT) != (user.role is Role.PATIENT):
        raise Refused("Staff and patient accounts cannot be turned into each other.", field="role")
    if user.id == by.id and role is not Role.ADMIN:
        raise Refused("You cannot remove your own administrator role.", field="role")
    changes = [
        name
        for name, old, new in (
            ("email", user.email, email),
            ("name", user.full_name, full_name.strip()),
            ("role", user.role, role),
        )
        if old != new
    ]
    if user.role != role:
        end_sessions(user)  # a role change takes effect at the next sign-in
    with _account_savepoint():
        user.email, user.full_name, user.role = email, full_name.strip(), role
    audit.record("user.updated", actor=by, obj=user, detail="changed: " + ", ".join(changes))


def set_active(user: User, active: bool, *, by: User) -> None:
    """Deactivate (ending every session) or reactivate an account."""
    if user.id == by.id and not active:
        raise Refused("You cannot deactivate your own account.")
    if user.active == active:
        return
    user.active = active
    if not active:
        end_sessions(user)
        for react in ON_DEACTIVATE:
            react(user)
    audit.record("user.activated" if active else "user.deactivated", actor=by, obj=user)
    db.session.flush()


def reset_password(user: User, new_password: str, *, by: User) -> None:
    """Admin sets a new password for someone; their existing sessions end."""
    _check_new_password((user.email, user.full_name), new_password, "new_password")
    user.password_hash = hash_password(new_password)
    end_sessions(user)
    audit.record("user.password_reset", actor=by, obj=user)
    db.session.flush()
