"""Password hashing (Argon2id) and the password policy."""

from __future__ import annotations

import re
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 12
MAX_LENGTH = 128
# zxcvbn's 0-4 guessability score; below 3 means guessable within about 10^8 tries.
MIN_SCORE = 3

_hasher = PasswordHasher()  # Argon2id with the library's current recommended parameters

# A fixed hash to verify against when the account does not exist, so that an unknown
# e-mail costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password-just-for-timing")


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; always spends one Argon2 verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problems(password: str, user_inputs: tuple[str, ...] = ()) -> list[str]:
    """Why a new password is refused, in words for the person choosing it; empty when fine."""
    if len(password) < MIN_LENGTH:
        return [f"Use at least {MIN_LENGTH} characters (spaces are allowed)."]
    if len(password) > MAX_LENGTH:
        return [f"Use at most {MAX_LENGTH} characters."]
    if password.lower() in _common_passwords():
        return ["This password is on lists of commonly used passwords; choose another."]
    inputs = [
        part.lower() for text in user_inputs if text for part in re.split(r"\W+", text) if part
    ]
    rest = password.lower()
    for part in inputs:
        if len(part) >= 3:
            rest = rest.replace(part, "")
    if len(rest.strip()) < 8:
        return ["Your password is mostly your own name or e-mail; choose something else."]
    # zxcvbn reads at most 72 characters; a longer passphrase is judged by its start.
    if zxcvbn(password[:72], user_inputs=inputs)["score"] < MIN_SCORE:
        return [
            "This password would be easy to guess (a common word, a pattern, or your own name). "
            "A few unrelated words make a strong one."
        ]
    return []
