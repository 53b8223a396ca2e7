"""Outages give clear answers: Redis down still signs people in; the database down or too
slow gives a 503 page with Retry-After and the security headers, rendered without it."""

from __future__ import annotations

import concurrent.futures
import logging
import time

import pytest
import redis
import sqlalchemy as sa

from clinic.extensions import db as _db
from tests import factories
from tests.conftest import CsrfClient, make_test_app
from tests.ops.servers import BlackHole
from tests.ops.settings import limiter_kept


def sign_in(client: CsrfClient, email: str, password: str = factories.PASSWORD):
    return client.post_form("/login", {"email": email, "password": password})


def assert_unavailable_page(response) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    assert "Temporarily unavailable" in html
    assert response.headers["X-Request-ID"] in html  # the reference staff can quote


def test_redis_down_sign_in_still_works_and_counts_per_process(
    sibling_app, db, private_redis, caplog
):
    app = sibling_app(
        RATELIMIT_STORAGE_URI=private_redis.url, LOGIN_LIMIT_PER_ACCOUNT_ADDRESS="3 per minute"
    )
    client = CsrfClient(app.test_client())
    user = factories.make_user()
    assert sign_in(client, user.email, "not the password").status_code == 200
    assert redis.Redis.from_url(private_redis.url).dbsize() > 0  # counted in Redis
    assert client.get("/readyz").json["redis"] == "ok"

    private_redis.stop()
    with caplog.at_level(logging.WARNING):
        assert sign_in(client, user.email, "still not it").status_code == 200
        assert sign_in(client, user.email).status_code == 302
    assert "falling back to in-memory storage" in caplog.text
    # Pages still work, so the node stays in the load balancer: degraded, not unavailable
    # (every node shares this Redis; a 503 would take the whole site out).
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert (ready.json["status"], ready.json["redis"]) == ("degraded", "unreachable")
    client.post_form("/logout", token_from="/account")

    other = factories.make_user()
    statuses = [sign_in(client, other.email, "wrong").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]  # still throttled, counted in this process


def _answered_within(seconds: float, hole: BlackHole, call, *args):
    """call(*args)'s answer; if none comes within `seconds`, the path is mended (so the
    waiting call ends) and the test fails."""
    with concurrent.futures.ThreadPoolExecutor(1) as waiting:
        pending = waiting.submit(call, *args)
        try:
            return pending.result(timeout=seconds)
        except concurrent.futures.TimeoutError:
            hole.mend()
            raise AssertionError(f"no answer within {seconds} s with the path cut") from None


def test_redis_vanishing_costs_a_sign_in_seconds_then_counts_per_process(
    sibling_app, db, private_redis, caplog
):
    """A Redis that stops answering (nothing refused, packets unanswered) is given up on after
    its socket timeout: the sign-in goes through in seconds and the next ones do not wait on
    it again, counting in this process meanwhile."""
    hole = BlackHole(private_redis.port).start()
    try:
        app = sibling_app(
            RATELIMIT_STORAGE_URI=f"redis://{hole.host}/0",
            LOGIN_LIMIT_PER_ACCOUNT_ADDRESS="3 per minute",
        )
        client = CsrfClient(app.test_client())
        user = factories.make_user()
        assert sign_in(client, user.email, "not the password").status_code == 200
        assert redis.Redis.from_url(private_redis.url).dbsize() > 0  # counted in Redis
        hole.cut()
        with caplog.at_level(logging.WARNING):
            started = time.monotonic()
            assert _answered_within(60, hole, sign_in, client, user.email).status_code == 302
            waited = time.monotonic() - started
        assert waited < 8
        assert "falling back to in-memory storage" in caplog.text
        client.post_form("/logout", token_from="/account")
        other = factories.make_user()
        started = time.monotonic()
        statuses = [sign_in(client, other.email, "wrong").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]  # still throttled, counted here
        assert time.monotonic() - started < 8  # not a timeout per try
    finally:
        hole.remove()


def test_database_unreachable_gives_the_503_page():
    from tests.ops.servers import free_port

    with limiter_kept():
        app = make_test_app(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none")
    client = app.test_client()
    with client.session_transaction() as session:
        now = int(time.time())
        session.update(_user_id="1:1", auth_at=now, seen_at=now)  # the user loader must query
    started = time.monotonic()
    assert_unavailable_page(client.get("/account"))
    assert time.monotonic() - started < 10
    assert client.get("/livez").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json["database"] == "unreachable"


@pytest.fixture
def live_private(private_postgres):
    """An app on the private PostgreSQL, a signed-in client, and a short statement timeout."""
    with limiter_kept():
        app = make_test_app(private_postgres.url, DATABASE_STATEMENT_TIMEOUT_MS=500)
        client = CsrfClient(app.test_client())
        assert sign_in(client, private_postgres.user_email).status_code == 302
        yield app, client
    with app.app_context():
        _db.engine.dispose()


def test_database_stopped_gives_503_then_recovers(private_postgres, live_private):
    _app, client = live_private
    assert client.get("/account").status_code == 200
    private_postgres.stop()
    try:
        assert_unavailable_page(client.get("/account"))
        assert client.get("/readyz").status_code == 503
    finally:
        private_postgres.start()
    # the checkout's liveness check (clinic.db_setup) replaces the dead connections
    assert client.get("/account").status_code == 200
    ready = client.get("/readyz").json
    assert ready.pop("seconds") < 3
    assert ready == {
        "status": "ok",
        "database": "ok",
        "redis": "not configured",
        "worker": "not configured",
    }


def test_database_host_vanishing_gives_503_within_seconds(private_postgres):
    """A database host that vanishes (powered off, network cut: nothing is refused, packets
    just go unanswered) costs a request seconds, not the kernel's quarter hour of retries: the
    pooled connection ends after DATABASE_TCP_USER_TIMEOUT_MS, a new one gives up after the
    connect timeout, and the user gets the 503 page. Once the path is back, pages work."""
    hole = BlackHole(private_postgres.port).start()
    try:
        url = private_postgres.url.replace(f"127.0.0.1:{private_postgres.port}", hole.host)
        with limiter_kept():
            app = make_test_app(url, DATABASE_TCP_USER_TIMEOUT_MS=1500, DATABASE_CONNECT_TIMEOUT=2)
            client = CsrfClient(app.test_client())
            assert sign_in(client, private_postgres.user_email).status_code == 302
            assert client.get("/account").status_code == 200  # a pooled connection, idle
            hole.cut()
            started = time.monotonic()
            response = _answered_within(30, hole, client.get, "/account")
            waited = time.monotonic() - started
            hole.mend()
            assert_unavailable_page(response)
            assert waited < 10
            assert client.get("/account").status_code == 200
        with app.app_context():
            _db.engine.dispose()
    finally:
        hole.remove()


def test_database_too_slow_gives_503_after_the_statement_timeout(private_postgres, live_private):
    _app, client = live_private
    locker = sa.create_engine(private_postgres.url)
    with locker.connect() as conn:
        conn.execute(sa.text("LOCK TABLE user_account IN ACCESS EXCLUSIVE MODE"))
        started = time.monotonic()
        response = client.get("/account")
        waited = time.monotonic() - started
        conn.rollback()
    locker.dispose()
    assert_unavailable_page(response)
    assert waited < 5
    assert client.get("/account").status_code == 200


def test_only_outages_get_the_503_page():
    from clinic.outage import is_database_outage

    assert is_database_outage(sa.exc.TimeoutError("QueuePool limit reached"))
    assert is_database_outage(sa.exc.OperationalError("SELECT 1", {}, Exception("gone")))
    assert not is_database_outage(sa.exc.IntegrityError("INSERT", {}, Exception("duplicate")))
    assert not is_database_outage(sa.exc.ProgrammingError("SELEC", {}, Exception("syntax")))
