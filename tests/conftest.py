"""Fixtures: an app per database at migration head, a rolled-back transaction per test,
a client with CSRF handling, and a login(role) helper."""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import ClassVar

import flask_migrate
import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from itsdangerous import BadSignature

from clinic import create_app
from clinic.auth import throttle
from clinic.auth.models import Role, User
from clinic.extensions import db as _db
from clinic.extensions import limiter
from clinic.journeys.services import kept
from clinic.outcomes.registry_store import settle
from clinic.scheduling import recalls
from clinic.scheduling.recall_rows import forget_pages
from clinic.scheduling.week_grid import forget_weeks
from config import TestConfig
from tests import factories
from tests.databases import PG_HINT, fresh_url, postgres_url

DATABASES = ["sqlite", "postgresql"]


def pytest_report_header(config):
    return None if postgres_url() else PG_HINT


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    skipped = len(terminalreporter.stats.get("skipped", []))
    if skipped and not postgres_url():
        terminalreporter.write_line(f"{skipped} skipped. {PG_HINT}")


def pytest_collection_modifyitems(config, items):
    """Tests marked dialect_independent run on SQLite only: deselected on PostgreSQL."""
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_postgres = callspec is not None and callspec.params.get("db_kind") == "postgresql"
        one_is_enough = item.get_closest_marker("dialect_independent") is not None
        (drop if on_postgres and one_is_enough else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


class FreshContextClient(FlaskClient):
    """Serves each request in its own app context, as a real server does.

    Without this, a request made while a test holds an app context reuses it, and `g`
    (where Flask-WTF caches the CSRF token) and the database session leak between requests.
    """

    def open(self, *args, **kwargs):
        # Buffered: a streamed body (CSV exports) is read inside this request's contexts, as a
        # server would, instead of leaving them pushed until someone reads it.
        kwargs.setdefault("buffered", True)
        if has_app_context():
            # Records the test wrote itself (never committed: the test's transaction is rolled
            # back) get their stored registry rows and a new registry generation, as their
            # commit would have given them.
            settle()
        with self.application.app_context():
            return super().open(*args, **kwargs)


def make_test_app(database_url: str, **overrides) -> Flask:
    """An app on this database, with these settings changed."""
    settings = {"SQLALCHEMY_DATABASE_URI": database_url, **overrides}
    config = type("ConfiguredTest", (TestConfig,), settings)
    application = create_app(config)
    application.test_client_class = FreshContextClient
    return application


@pytest.fixture(scope="session", params=DATABASES)
def db_kind(request) -> str:
    if request.param == "postgresql" and not postgres_url():
        pytest.skip(PG_HINT)
    return request.param


@pytest.fixture(scope="session")
def app(db_kind: str):
    """One app per database kind, its schema built by the migrations (never create_all)."""
    application = make_test_app(fresh_url(db_kind, "main"))
    with application.app_context():
        flask_migrate.upgrade()
    yield application
    with application.app_context():
        _db.engine.dispose()


@pytest.fixture
def db(app: Flask):
    """The database inside a transaction that is rolled back after the test.

    Commits made by the code under test become SAVEPOINT releases on this connection.
    """
    recalls.forget_counts()
    kept.forget()
    forget_weeks(app)
    forget_pages(app)
    with app.app_context():
        engines = _db._app_engines[app]
        engine = engines[None]
        connection = engine.connect()
        outer = connection.begin()
        engines[None] = connection
        _db.session.remove()
        _db.session.configure(join_transaction_mode="create_savepoint")
        try:
            yield _db
        finally:
            _db.session.remove()
            engines[None] = engine
            outer.rollback()
            connection.close()


@pytest.fixture(scope="module")
def module_connection(app: Flask):
    """One connection for a whole test module, in a transaction rolled back when it ends.

    For records that are costly to build: a module builds them once on this connection and
    overrides `db` with `savepoint_db`, so that each test still starts from them untouched.
    """
    engines = _db._app_engines[app]
    engine = engines[None]
    connection = engine.connect()
    outer = connection.begin()
    engines[None] = connection
    with app.app_context():
        _db.session.remove()
        _db.session.configure(join_transaction_mode="create_savepoint")
    try:
        yield connection
    finally:
        with app.app_context():
            _db.session.remove()
        engines[None] = engine
        outer.rollback()
        connection.close()


@contextmanager
def savepoint_db(app: Flask, connection):
    """The database inside a savepoint of the module's transaction, rolled back after a test."""
    recalls.forget_counts()
    kept.forget()
    forget_weeks(app)
    forget_pages(app)
    with app.app_context():
        savepoint = connection.begin_nested()
        _db.session.remove()
        try:
            yield _db
        finally:
            _db.session.remove()
            if savepoint.is_active:
                savepoint.rollback()


class CsrfClient:
    """Wraps the test client so that form posts carry the CSRF token the page handed out.

    Flask-WTF's token is bound to a secret kept in the session, so one token serves every form
    until the session changes (sign-in clears it). The token is cached against that secret, read
    from the session cookie, and fetched again from a page only when the secret has changed.
    """

    TOKEN = re.compile(
        r'name="csrf_token" type="hidden" value="([^"]+)"|'
        r'name="csrf_token" value="([^"]+)"'
    )

    # (app secret key, session's CSRF secret) -> a token; shared by clients, as the token
    # depends on nothing else.
    _tokens: ClassVar[dict[tuple[str, str], str]] = {}

    def __init__(self, client) -> None:
        self.client = client

    def __getattr__(self, name: str):
        return getattr(self.client, name)

    def _session_secret(self) -> str | None:
        """The CSRF secret in the client's session cookie (None without one)."""
        app = self.client.application
        cookie = self.client.get_cookie(app.config["SESSION_COOKIE_NAME"])
        if cookie is None:
            return None
        serializer = app.session_interface.get_signing_serializer(app)
        try:
            data = serializer.loads(cookie.value)
        except BadSignature:
            return None
        return data.get(app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))

    def csrf_token(self, page: str = "/login") -> str:
        """A token valid for this session: a cached one, or one read from `page`."""
        app_key = str(self.client.application.secret_key)
        secret = self._session_secret()
        if secret is not None and (app_key, secret) in self._tokens:
            return self._tokens[app_key, secret]
        html = self.client.get(page).get_data(as_text=True)
        match = self.TOKEN.search(html)
        assert match, f"no CSRF token on {page}"
        token = match.group(1) or match.group(2)
        secret = self._session_secret()
        if secret is not None:
            self._tokens[app_key, secret] = token
        return token

    def post_form(
        self, url: str, data: dict | None = None, token_from: str | None = None, **kwargs
    ):
        data = dict(data or {})
        data["csrf_token"] = self.csrf_token(token_from or url)
        return self.client.post(url, data=data, **kwargs)


@pytest.fixture
def client(app: Flask, db) -> CsrfClient:
    limiter.reset()  # throttling counts start from zero in every test
    throttle.forget_outage()
    return CsrfClient(app.test_client())


@pytest.fixture
def make_user(db):
    return factories.make_user


def sign_in(
    client: CsrfClient, user: User, password: str = factories.PASSWORD, url: str = "/login"
):
    """Sign in through the pages: the password, then (for an enrolled user) a current code.
    Returns the last response."""
    response = client.post_form(
        url, {"email": user.email, "password": password}, token_from="/login"
    )
    if response.status_code == 302 and response.headers["Location"].startswith("/login/code"):
        response = client.post_form(
            response.headers["Location"], {"code": factories.current_code(user)}
        )
    return response


@pytest.fixture
def login(client: CsrfClient, db):
    """login(role) creates a user of that role and signs the client in as them."""

    def _login(role: Role | str, user: User | None = None) -> User:
        user = user or factories.make_user(Role(role))
        response = sign_in(client, user)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return user

    return _login


@pytest.fixture
def login_on_team(login):
    """login_on_team(role, patient): a clinician on the patient's care team, signed in."""
    from tests.careteam_helpers import join_care_team

    def _login(role: Role | str, patient, user: User | None = None) -> User:
        user = user or factories.make_user(Role(role))
        join_care_team(user, patient)
        return login(role, user)

    return _login


@pytest.fixture
def sign_in_as(client: CsrfClient, db):
    """A quick sign-in that writes the session the login page would (no password hashing).

    For tests about what a signed-in role may reach; the sign-in itself is tested elsewhere.
    """

    def _sign_in(role: Role | str, user: User | None = None) -> User:
        import time

        user = user or factories.make_user(Role(role))
        now = int(time.time())
        sid = factories.register_session(user)
        with client.session_transaction() as session:
            session.update(_user_id=user.get_id(), _fresh=True, auth_at=now, seen_at=now, sid=sid)
            session.permanent = True
        return user

    return _sign_in


class QueryCounter:
    """Counts SQL statements sent while active (for no-N+1 tests)."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.count = 0

    def _count(self, conn, cursor, statement, *args) -> None:
        if statement.startswith("SET synchronous_commit"):
            # a connection's setting, sent only when it changes from the last request's
            # (transaction.watch_commit_durability): not a statement of the page
            return
        self.count += 1
        self.statements.append(statement)

    def __enter__(self) -> QueryCounter:
        from sqlalchemy import event

        settle()  # the test's own writes get their registry rows (as at commit) first, uncounted
        self.count = 0
        self.statements: list[str] = []
        event.listen(self.connection, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc: object) -> None:
        from sqlalchemy import event

        event.remove(self.connection, "before_cursor_execute", self._count)


@pytest.fixture
def count_queries(app: Flask, db):
    """`with count_queries() as counter: ...` then `counter.count`."""
    return lambda: QueryCounter(_db._app_engines[app][None])
