"""Asking again: the password (and the second factor once enrolled) before a sensitive act."""

from __future__ import annotations

from clinic.auth import mfa
from clinic.auth.models import User
from clinic.auth.passwords import verify_password
from clinic.errors import Refused
from clinic.transaction import keep_after_rollback


def confirm_identity(
    user: User, password: str, code: str | None, action: str, *, recovery_code_ok: bool = True
) -> None:
    """Refuse unless the password (and, for an enrolled user, a current code) is right.

    `recovery_code_ok=False` asks for the authenticator app itself (a recovery code is refused).
    A failed confirmation is audited and the row survives the refused request.
    """
    if not verify_password(user.password_hash, password or ""):
        keep_after_rollback(
            action="auth.reauth_failed", actor=user, obj=user, detail=f"{action}: password"
        )
        raise Refused("Your password is not correct.", "password")

    if mfa.is_enrolled(user) and not mfa.verify_code(
        user, code or "", consume_recovery=recovery_code_ok
    ):
        keep_after_rollback(
            action="auth.reauth_failed", actor=user, obj=user, detail=f"{action}: code"
        )
        raise Refused("The code from your authenticator app is not correct.", "code")
