"""Portal access: invitations, password-reset links, activation and revocation.

A link is a random token e-mailed to the patient; only its SHA-256 is stored. Redeeming it is
one conditional UPDATE, so a link works once even if two tabs submit it together.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, url_for

from clinic.auth import services as accounts
from clinic.auth.models import Role, User
from clinic.auth.passwords import hash_password, password_problems
from clinic.errors import Conflict, Refused
from clinic.extensions import db
from clinic.mail import Email
from clinic.models import audit
from clinic.models.base import utcnow
from clinic.patients.models import Patient
from clinic.portal.models import LinkPurpose, PortalLink


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def portal_account(patient: Patient) -> User | None:
    return db.session.scalar(sa.select(User).where(User.patient_id == patient.id))


def links_for(patient: Patient) -> list[PortalLink]:
    return db.session.scalars(
        sa.select(PortalLink)
        .where(PortalLink.patient_id == patient.id)
        .order_by(PortalLink.created_at.desc(), PortalLink.id.desc())
    ).all()


def revoke_open_links(patient: Patient) -> int:
    """Make every unused link of this patient stop working (e.g. when the account is disabled)."""
    return _revoke_pending(patient, utcnow())


def _revoke_pending(patient: Patient, now: datetime) -> int:
    result = db.session.execute(
        sa.update(PortalLink)
        .where(
            PortalLink.patient_id == patient.id,
            PortalLink.used_at.is_(None),
            PortalLink.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def _issue(patient: Patient, purpose: LinkPurpose, email: str, by: User | None) -> Email:
    now = utcnow()
    _revoke_pending(patient, now)  # only the newest link works
    token = secrets.token_urlsafe(32)
    hours = current_app.config[
        "PORTAL_INVITE_HOURS" if purpose is LinkPurpose.INVITE else "PORTAL_RESET_HOURS"
    ]
    link = PortalLink(
        patient_id=patient.id,
        purpose=purpose,
        email=email,
        token_hash=_digest(token),
        created_at=now,
        created_by_id=by.id if by else None,
        expires_at=now + timedelta(hours=hours),
    )
    db.session.add(link)
    db.session.flush()
    audit.record(f"portal.{purpose.value}_sent", actor=by, obj=link, patient_id=patient.id)
    return _email_for(patient, purpose, email, token, hours)


def _email_for(patient: Patient, purpose: LinkPurpose, email: str, token: str, hours: int) -> Email:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    link = base + url_for("portal.redeem", token=token)
    clinic = current_app.config["CLINIC_NAME"]
    if purpose is LinkPurpose.INVITE:
        subject = f"Your invitation to the {clinic} patient portal"
        opening = (
            "You are invited to the patient portal, where you can see your appointments, "
            "how to prepare and recover, and fill in your questionnaires."
        )
    else:
        subject = f"Set a new password for the {clinic} patient portal"
        opening = "Someone asked to set a new password for your patient portal account."
    body = (
        f"Dear {patient.given_name},\n\n{opening}\n\n"
        f"Open this link to choose your password (it works once, for {hours} hours):\n"
        f"{link}\n\n"
        "If you did not expect this message, you can ignore it; nothing changes.\n\n"
        f"{clinic}\n"
    )
    return Email(to=email, subject=subject, body=body)


def send_invite(patient: Patient, email: str, by: User) -> Email:
    """Invite a patient (again) to the portal; earlier unused links stop working."""
    email = accounts.normalise_email(email)
    account = portal_account(patient)
    other = accounts.find_user_by_email(email)
    if other is not None and (account is None or other.id != account.id):
        raise Conflict("This e-mail belongs to another account.", field="email")
    if account is not None and account.active:
        raise Conflict("This patient already uses the portal. Send a password-reset link instead.")
    return _issue(patient, LinkPurpose.INVITE, email, by)


def send_reset(patient: Patient, by: User | None) -> Email:
    """A password-reset link for the patient's active portal account."""
    account = portal_account(patient)
    if account is None or not account.active:
        raise Refused("This patient has no active portal account.")
    return _issue(patient, LinkPurpose.RESET, account.email, by)


def request_reset(email: str) -> Email | None:
    """A patient's own 'forgot password' request; None (silently) when nothing matches."""
    user = accounts.find_user_by_email(email)
    if user is None or user.role is not Role.PATIENT or not user.active:
        audit.record("portal.reset_request_ignored")
        return None
    return _issue(user.patient, LinkPurpose.RESET, user.email, by=None)


def revoke_access(patient: Patient, by: User) -> None:
    """End portal use: pending links stop working, the account is deactivated and signed out."""
    now = utcnow()
    revoked = _revoke_pending(patient, now)
    account = portal_account(patient)
    if account is None and not revoked:
        raise Refused("This patient has no portal access to revoke.")
    if account is not None and account.active:
        account.active = False
        accounts.end_sessions(account)
    audit.record("portal.access_revoked", actor=by, obj=patient, patient_id=patient.id)
    db.session.flush()


def find_usable_link(token: str) -> PortalLink | None:
    """The link behind a token if it can still be used, else None."""
    link = db.session.scalar(sa.select(PortalLink).where(PortalLink.token_hash == _digest(token)))
    if link is None or link.state(utcnow()) != "pending":
        return None
    return link


def redeem(token: str, password: str) -> User:
    """Use a link once: set the password, creating or reactivating the portal account."""
    link = find_usable_link(token)
    if link is None:
        raise Refused("This link has expired or was already used.")
    patient = link.patient
    if link.purpose is LinkPurpose.RESET:
        account = portal_account(patient)
        if account is None or not account.active:
            # only a new invitation from the clinic turns a disabled account back on
            raise Refused("This link has expired or was already used.")
    problems = password_problems(password, (link.email, patient.given_name, patient.family_name))
    if problems:
        raise Refused(problems[0], field="new_password")
    now = utcnow()
    claimed = db.session.execute(
        sa.update(PortalLink)
        .where(
            PortalLink.id == link.id,
            PortalLink.used_at.is_(None),
            PortalLink.revoked_at.is_(None),
            PortalLink.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise Refused("This link has expired or was already used.")
    account = portal_account(patient)
    if account is None:
        account = User(
            email=link.email,
            full_name=patient.full_name,
            role=Role.PATIENT,
            patient=patient,
            password_hash=hash_password(password),
            active=True,
            session_version=1,
        )
        db.session.add(account)
    else:
        account.password_hash = hash_password(password)
        account.active = True
        if link.purpose is LinkPurpose.INVITE:
            account.email = link.email
        accounts.end_sessions(account)
    db.session.flush()
    audit.record(
        f"portal.{link.purpose.value}_redeemed", actor=account, obj=link, patient_id=patient.id
    )
    return account


def _on_account_deactivated(user: User) -> None:
    """A patient's account switched off: their open invitation and reset links stop working."""
    if user.role is Role.PATIENT and user.patient is not None:
        revoke_open_links(user.patient)


accounts.ON_DEACTIVATE.append(_on_account_deactivated)
