"""The password policy and hashing."""

from __future__ import annotations

import pytest

from clinic.auth.passwords import hash_password, password_problems, verify_password


@pytest.mark.parametrize(
    "password",
    [
        "Tidal orchard lantern 42",
        "zwölf Äpfel fallen leise",  # Unicode and spaces are fine
        "x" * 3 + " river stone mosaic " + "9" * 100,  # 123 characters
    ],
)
def test_good_passwords_pass(password):
    assert password_problems(password) == []


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short pw 1", "at least 12"),
        ("a" * 129, "at most 128"),
        ("qwerty123456", "commonly used"),
        ("password1234", "commonly used"),
        ("Password2026!", "easy to guess"),
        ("aaaaaaaaaaaaaaaa", "easy to guess"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password, reason):
    problems = password_problems(password)
    assert problems and reason in problems[0]


def test_own_name_is_not_a_password():
    problems = password_problems("jordanreyes1975", ("jordan.reyes@x.example.com", "Jordan Reyes"))
    assert problems and "own name" in problems[0]


def test_hash_is_argon2id_and_verifies():
    hashed = hash_password("Tidal orchard lantern 42")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "Tidal orchard lantern 42")
    assert not verify_password(hashed, "tidal orchard lantern 42")
    assert not verify_password(None, "anything at all")
