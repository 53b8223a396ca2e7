"""Second factor (TOTP) for staff: who needs it, enrolment, code checks, recovery codes, reset.

Secrets are stored encrypted with a key derived from SECRET_KEY (Fernet via HKDF; the
SECRET_KEY_FALLBACKS still decrypt during a key roll-over). Recovery codes carry 80 random bits
and are stored as SHA-256 digests. A code is accepted once: the time step of the last accepted
code is kept and a code from that step or earlier is refused (no replay).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

import pyotp
import segno
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from clinic.auth.models import RecoveryCode, Role, SecondFactor, User, end_sessions
from clinic.errors import Refused
from clinic.extensions import db
from clinic.models import audit
from clinic.models.base import utcnow

RECOVERY_CODE_COUNT = 10
# At or below this many unused recovery codes the account pages suggest a new set.
RECOVERY_CODES_LOW = 3
STEP_SECONDS = 30
ISSUER = "Clinic Journey Tracker"
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def required(user: User) -> bool:
    """Whether this account must sign in with a code: admins and providers always, other staff
    when MFA_REQUIRED_FOR_ALL_STAFF is set, patients never."""
    if user.role is Role.PATIENT:
        return False
    if user.role in (Role.ADMIN, Role.PROVIDER):
        return True
    return bool(current_app.config.get("MFA_REQUIRED_FOR_ALL_STAFF"))


def _key(secret_key: str) -> bytes:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"clinic second factor secret"
    ).derive(secret_key.encode())
    return base64.urlsafe_b64encode(derived)


def _fernet() -> MultiFernet:
    keys = [current_app.config["SECRET_KEY"], *current_app.config.get("SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([Fernet(_key(str(k))) for k in keys if k])


def factor_of(user: User) -> SecondFactor | None:
    return db.session.get(SecondFactor, user.id)


def is_enrolled(user: User) -> bool:
    """Whether the user has a confirmed authenticator app."""
    factor = factor_of(user)
    return factor is not None and factor.confirmed_at is not None


def secret_of(factor: SecondFactor) -> str:
    """The plain base32 secret (for the enrolment page and the demo only)."""
    return _fernet().decrypt(factor.secret_encrypted.encode()).decode()


def _store_secret(user: User, secret: str) -> SecondFactor:
    factor = factor_of(user) or SecondFactor(user_id=user.id)
    factor.secret_encrypted = _fernet().encrypt(secret.encode()).decode()
    factor.confirmed_at = None
    factor.last_step = None
    factor.created_at = utcnow()
    db.session.add(factor)
    db.session.flush()
    return factor


def begin_enrolment(user: User) -> SecondFactor:
    """A new, unconfirmed secret for this user (an earlier unconfirmed one is replaced)."""
    if user.role is Role.PATIENT:
        raise Refused("Two-step sign-in is for staff accounts.")
    if is_enrolled(user):
        raise Refused("Two-step sign-in is already set up for your account.")
    return _store_secret(user, pyotp.random_base32())


def provisioning_uri(user: User, secret: str) -> str:
    issuer = current_app.config.get("CLINIC_NAME") or ISSUER
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The otpauth:// link as an inline SVG QR code (no script, no external image)."""
    return segno.make(uri, error="m").svg_inline(scale=5, title="QR code for your authenticator")


def _matching_step(secret: str, code: str) -> int | None:
    """The time step (now, or one either side for clock drift) this code belongs to."""
    totp = pyotp.TOTP(secret)
    now = time.time()
    for offset in (0, -1, 1):
        moment = int(now + offset * STEP_SECONDS)
        if hmac.compare_digest(totp.at(moment), code):
            return int(moment // STEP_SECONDS)
    return None


def _clean(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def _check_totp(factor: SecondFactor, code: str) -> bool:
    if not (code.isdigit() and len(code) == 6):
        return False
    try:
        secret = secret_of(factor)
    except InvalidToken:  # SECRET_KEY changed without a fallback: the user must be reset
        current_app.logger.error(
            "second factor secret of user %s cannot be decrypted", factor.user_id
        )
        return False
    step = _matching_step(secret, code)
    if step is None or (factor.last_step is not None and step <= factor.last_step):
        return False
    factor.last_step = step
    db.session.flush()
    return True


def _digest(code: str) -> str:
    return hashlib.sha256(_clean(code).encode()).hexdigest()


def _use_recovery_code(user: User, code: str) -> bool:
    if len(_clean(code)) != 16:
        return False
    row = db.session.scalar(
        sa.select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _digest(code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if row is None:
        return False
    # Guarded update: two requests using the same code at once, only one wins.
    used = db.session.execute(
        sa.update(RecoveryCode)
        .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if getattr(used, "rowcount", 0) != 1:
        return False
    db.session.expire(row)
    audit.record("mfa.recovery_code_used", actor=user, obj=user)
    return True


def verify_code(user: User, code: str, consume_recovery: bool = False) -> bool:
    """Whether `code` is a fresh code from the user's app (or, when allowed, an unused recovery
    code, which is then spent)."""
    factor = factor_of(user)
    if factor is None or factor.confirmed_at is None:
        return False
    cleaned = _clean(code)
    if _check_totp(factor, cleaned):
        return True
    return consume_recovery and _use_recovery_code(user, cleaned)


def _format_code(raw: str) -> str:
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def new_recovery_codes(user: User) -> list[str]:
    """Ten fresh single-use codes (earlier ones stop working); only their digests are kept."""
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        _format_code("".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16)))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_digest(c)) for c in codes)
    db.session.flush()
    return codes


def recovery_codes_left(user: User) -> int:
    return int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def confirm_enrolment(user: User, code: str) -> list[str]:
    """Confirm the pending secret with a first code; returns the recovery codes (shown once)."""
    factor = factor_of(user)
    if factor is None or factor.confirmed_at is not None:
        raise Refused("Start the set-up again: no new authenticator is waiting.", "code")
    if not _check_totp(factor, _clean(code)):
        raise Refused(
            "That code is not right. Check the time on your phone and enter the current code.",
            "code",
        )
    factor.confirmed_at = utcnow()
    audit.record("mfa.enrolled", actor=user, obj=user)
    return new_recovery_codes(user)


def enrol_with_secret(user: User, secret: str, *, by: User | None = None) -> list[str]:
    """Enrol with a known secret at once (demo data and tests, never a request)."""
    factor = _store_secret(user, secret)
    factor.confirmed_at = utcnow()
    audit.record("mfa.enrolled", actor=by, obj=user, detail="set by command")
    return new_recovery_codes(user)


def reset(user: User, *, by: User) -> None:
    """Remove a user's second factor and recovery codes; their sessions end and, if the role
    needs one, they enrol again at their next sign-in."""

    if user.id == by.id:
        raise Refused("Ask another administrator to reset your own two-step sign-in.")
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(sa.delete(SecondFactor).where(SecondFactor.user_id == user.id))
    end_sessions(user)
    audit.record("mfa.reset", actor=by, obj=user, patient_id=user.patient_id)
    db.session.flush()
