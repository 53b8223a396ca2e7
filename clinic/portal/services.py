"""Portal access: invitations, password-reset links, activation and revocation.

A link is a random token e-mailed to the patient; only its SHA-256 is stored. Redeeming it is
one conditional UPDATE, so a link works once even if two tabs submit it together.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from clinic.auth import services as accounts
from clinic.auth.models import Role, User
from clinic.auth.passwords import hash_password, password_problems
from clinic.errors import Conflict, Refused
from clinic.extensions import db
from clinic.mail import Email, external_url
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
    link = external_url("portal.redeem", token=token)
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
    if account is not None and account.email != email:
        # An invitation never moves an account to a new address: that is an e-mail change on
        # the patient record, with a reason and a notice to the old address.
        raise Refused(
            f"This patient's portal account uses {account.email}. To use another address, "
            "change the e-mail on the patient's record first (a reason is asked).",
            field="email",
        )
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
        accounts.end_sessions(account)
    db.session.flush()
    audit.record(
        f"portal.{link.purpose.value}_redeemed", actor=account, obj=link, patient_id=patient.id
    )
    return account


REASON_MAX = 200
_PORTAL_LINK = re.compile(r"(/portal/link/)[\w-]+")
MASK = "[hidden: only the patient's own e-mail holds the working link]"


def masked_links(body: str) -> str:
    """A message as staff may read it in the outbox: sign-in links without their token."""
    return _PORTAL_LINK.sub(lambda m: m.group(1) + MASK, body)


def needs_email_change_reason(patient: Patient, new_email: str | None) -> bool:
    """Whether saving this e-mail changes the address of a patient who has a portal account."""
    old = accounts.normalise_email(patient.email or "")
    return old != accounts.normalise_email(new_email or "") and portal_account(patient) is not None


def change_account_email(
    patient: Patient, old_email: str | None, new_email: str | None, reason: str, *, by: User
) -> list[Email]:
    """The record's e-mail of a portal user changed: a reason is required, the account's e-mail
    follows when it was the record's, and the old addresses are told. Returns the notices."""
    account = portal_account(patient)
    if account is None:
        return []
    reason = " ".join((reason or "").split())
    if len(reason) < 5:
        raise Refused(
            "This patient signs in to the portal with their e-mail. Say why it changes.",
            field="email_change_reason",
        )
    old = accounts.normalise_email(old_email or "")
    new = accounts.normalise_email(new_email or "")
    told = {address for address in (old, account.email) if address and address != new}
    if new and account.email == old:
        other = accounts.find_user_by_email(new)
        if other is not None and other.id != account.id:
            raise Conflict("This e-mail belongs to another account.", field="email")
        account.email = new
        _revoke_pending(patient, utcnow())  # links sent to the old address stop working
    audit.record(
        "portal.account_email_changed",
        actor=by,
        obj=account,
        patient_id=patient.id,
        detail=f"reason: {reason[:REASON_MAX]}; old address notified",
    )
    db.session.flush()
    return [_email_change_notice(patient, address) for address in sorted(told)]


def _email_change_notice(patient: Patient, address: str) -> Email:
    clinic = current_app.config["CLINIC_NAME"]
    phone = current_app.config["CLINIC_PHONE"]
    body = (
        f"Dear {patient.given_name},\n\n"
        f"The e-mail address on your {clinic} record was changed by the clinic, and messages "
        "about your patient portal account now go to the new address. This address will no "
        "longer receive them.\n\n"
        f"If you did not ask for this, please call us at {phone} straight away.\n\n"
        f"{clinic}\n"
    )
    return Email(to=address, subject=f"Your e-mail address at {clinic} was changed", body=body)


def _on_account_deactivated(user: User) -> None:
    """A patient's account switched off: their open invitation and reset links stop working."""
    if user.role is Role.PATIENT and user.patient is not None:
        revoke_open_links(user.patient)


accounts.ON_DEACTIVATE.append(_on_account_deactivated)
