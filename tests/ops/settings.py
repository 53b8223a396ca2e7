"""Production settings that pass the start-up checks, for tests that build a production app."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from flask import Flask

from clinic import create_app
from clinic.extensions import limiter
from config import ProductionConfig

GOOD_SECRET = "s" * 48


def production_settings(tmp_path: Path, **overrides) -> dict:
    """Everything production insists on, on a throwaway SQLite file, with `overrides`."""
    return {
        "SECRET_KEY": GOOD_SECRET,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/production.db",
        "PUBLIC_BASE_URL": "https://clinic.example.com",
        "MAIL_TRANSPORT": "smtp",
        "MAIL_FROM": "Clinic <no-reply@clinic.example.com>",
        "SMS_TRANSPORT": "off",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1/0",  # never reached by these tests
        "LOG_FORMAT": "text",
        **overrides,
    }


def production_config(tmp_path: Path, **overrides) -> type[ProductionConfig]:
    """A ProductionConfig subclass with these settings."""
    return type("P", (ProductionConfig,), production_settings(tmp_path, **overrides))


@contextmanager
def limiter_kept():
    """Put the shared Flask-Limiter back as it was: init_app of another app rebinds its
    storage for every app in the test session."""
    saved = dict(vars(limiter))
    try:
        yield
    finally:
        vars(limiter).clear()
        vars(limiter).update(saved)


def production_app(tmp_path: Path, **overrides) -> Flask:
    """A production app; its sign-in limits count in the test session's memory storage."""
    with limiter_kept():
        return create_app(production_config(tmp_path, **overrides))
