"""Fixtures for operations tests: a second app on the test's own database connection."""

from __future__ import annotations

import pytest

from clinic.extensions import db as _db
from tests.conftest import make_test_app
from tests.ops.settings import limiter_kept


@pytest.fixture
def sibling_app(app, db):
    """sibling_app(**settings): an app with other settings that shares the test's rolled-back
    connection, so what it writes is visible to the test and undone after it."""
    made = []

    def _make(**overrides):
        with limiter_kept():
            other = make_test_app(app.config["SQLALCHEMY_DATABASE_URI"], **overrides)
        made.append((other, _db._app_engines[other][None]))
        _db._app_engines[other][None] = _db._app_engines[app][None]
        return other

    yield _make
    for other, engine in made:
        _db._app_engines[other][None] = engine
        engine.dispose()
