"""Password hashing (Argon2id) and the password policy."""

from __future__ import annotations

import re
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 12
MAX_LENGTH = 128
# zxcvbn's 0-4 guessability score; below 3 means guessable within about 10^8 tries.
MIN_SCORE = 3

# Argon2id cost: RFC 9106's low-memory profile (the library's defaults) unless the settings
# say otherwise; only the test settings lower it.
DEFAULT_TIME_COST = 3
DEFAULT_MEMORY_COST_KIB = 65536
DEFAULT_PARALLELISM = 4


@lru_cache(maxsize=4)
def _hasher_for(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def _hasher() -> PasswordHasher:
    """The hasher for the current app's ARGON2_* settings (the defaults outside an app)."""
    config = current_app.config if has_app_context() else {}
    return _hasher_for(
        int(config.get("ARGON2_TIME_COST", DEFAULT_TIME_COST)),
        int(config.get("ARGON2_MEMORY_COST_KIB", DEFAULT_MEMORY_COST_KIB)),
        int(config.get("ARGON2_PARALLELISM", DEFAULT_PARALLELISM)),
    )


@lru_cache(maxsize=4)
def _dummy_hash(hasher: PasswordHasher) -> str:
    """A fixed hash to verify when the account does not exist."""
    # An unknown e-mail then costs as much time as a wrong password.
    return hasher.hash("not-a-real-password-just-for-timing")


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; always spends one Argon2 verification."""
    hasher = _hasher()
    try:
        return hasher.verify(password_hash or _dummy_hash(hasher), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


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
