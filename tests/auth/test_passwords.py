"""The password policy and hashing."""

from __future__ import annotations

import pytest
from argon2 import extract_parameters
from argon2.profiles import RFC_9106_LOW_MEMORY
from flask import Flask

from clinic.auth.passwords import hash_password, needs_rehash, password_problems, verify_password
from config import Config, DevelopmentConfig, ProductionConfig, TestConfig


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


@pytest.mark.parametrize("settings", [Config, DevelopmentConfig, ProductionConfig])
def test_real_settings_hash_with_rfc_9106_argon2id(settings):
    """Only the test settings may lower the cost; every real setting hashes at full strength."""
    app = Flask(__name__)
    app.config.from_object(settings)
    with app.app_context():
        hashed = hash_password("Tidal orchard lantern 42")
        assert verify_password(hashed, "Tidal orchard lantern 42")
    params = extract_parameters(hashed)
    assert (params.type, params.time_cost, params.memory_cost, params.parallelism) == (
        RFC_9106_LOW_MEMORY.type,
        RFC_9106_LOW_MEMORY.time_cost,
        RFC_9106_LOW_MEMORY.memory_cost,
        RFC_9106_LOW_MEMORY.parallelism,
    )


def test_a_cheap_test_hash_is_upgraded_under_real_settings():
    cheap, strong = Flask("cheap"), Flask("strong")
    cheap.config.from_object(TestConfig)
    strong.config.from_object(ProductionConfig)
    with cheap.app_context():
        hashed = hash_password("Tidal orchard lantern 42")
        assert extract_parameters(hashed).memory_cost == TestConfig.ARGON2_MEMORY_COST_KIB
    with strong.app_context():
        assert needs_rehash(hashed)
        assert verify_password(hashed, "Tidal orchard lantern 42")
