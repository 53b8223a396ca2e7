"""Fixtures for operations tests: apps with other settings, private Redis and PostgreSQL."""

from __future__ import annotations

import flask_migrate
import pytest

from clinic.auth.models import Role
from clinic.extensions import db as _db
from tests import factories
from tests.conftest import make_test_app
from tests.ops.servers import PrivatePostgres, PrivateRedis
from tests.ops.settings import limiter_kept


@pytest.fixture
def sibling_app(app, db):
    """sibling_app(**settings): an app with other settings that shares the test's rolled-back
    connection, so what it writes is visible to the test and undone after it. The shared
    limiter uses the last one's storage until the test ends."""
    made = []

    def _make(**overrides):
        other = make_test_app(app.config["SQLALCHEMY_DATABASE_URI"], **overrides)
        made.append((other, _db._app_engines[other][None]))
        _db._app_engines[other][None] = _db._app_engines[app][None]
        return other

    with limiter_kept():
        yield _make
    for other, engine in made:
        _db._app_engines[other][None] = engine
        engine.dispose()


@pytest.fixture
def private_redis():
    server = PrivateRedis().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def private_postgres():
    """A private PostgreSQL at the migration head, with one front-desk account."""
    server = PrivatePostgres().start()
    try:
        with limiter_kept():
            app = make_test_app(server.url)
        with app.app_context():
            flask_migrate.upgrade()
            server.user_email = factories.make_user(Role.FRONT_DESK).email
            _db.session.commit()
            _db.engine.dispose()
        yield server
    finally:
        server.remove()
