"""Twenty front-desk requests for overlapping times at once: exactly one books, none fails.

Runs the real app on a local port with real commits, on SQLite (BEGIN IMMEDIATE plus the
overlap triggers) and on PostgreSQL (exclusion constraints).
"""

from __future__ import annotations

import http.client
import re
import threading
from datetime import UTC, datetime
from urllib.parse import urlencode, urlparse

import flask_migrate
import pytest
import sqlalchemy as sa

from clinic.auth.models import Role, User
from clinic.extensions import db
from clinic.scheduling.models import Appointment, Status
from tests.conftest import make_test_app
from tests.databases import fresh_url
from tests.factories import PASSWORD, TOTP_SECRET, PatientFactory, make_user
from tests.live import LiveServer

REQUESTS = 20


@pytest.fixture(scope="module")
def server(db_kind):
    app = make_test_app(fresh_url(db_kind, "concurrency"))
    with app.app_context():
        flask_migrate.upgrade()
        desk = make_user(Role.FRONT_DESK)
        provider = make_user(Role.PROVIDER)
        patients = [PatientFactory() for _ in range(REQUESTS)]
        db.session.commit()
        ids = dict(desk=desk.email, provider=provider.id, mrns=[p.mrn for p in patients])
    with LiveServer(app) as live:
        yield app, live, ids
    with app.app_context():
        db.engine.dispose()


def code_for(app, email: str) -> str:
    """The current code of an account enrolled with the tests' secret, usable again at once."""
    import pyotp

    from clinic.auth.models import SecondFactor, User

    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id).where(User.email == email))
        db.session.execute(
            sa.update(SecondFactor).where(SecondFactor.user_id == user_id).values(last_step=None)
        )
        db.session.commit()
        db.session.remove()
    return pyotp.TOTP(TOTP_SECRET).now()


class Browser:
    """A minimal HTTP client sharing one signed-in session between threads."""

    def __init__(self, url: str) -> None:
        parsed = urlparse(url)
        self.host, self.port = parsed.hostname, parsed.port
        self.cookie = ""

    def request(self, method: str, path: str, form: dict | None = None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        headers = {"Cookie": self.cookie}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
        cookie = response.getheader("Set-Cookie")
        conn.close()
        return response.status, text, cookie

    def token(self, path: str) -> str:
        _status, html, cookie = self.request("GET", path)
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html).group(1)

    def sign_in(self, email: str, app=None) -> None:
        """The password, then (an enrolled test account, `app` given) the current code."""
        token = self.token("/login")
        status, text, cookie = self.request(
            "POST", "/login", {"csrf_token": token, "email": email, "password": PASSWORD}
        )
        assert status == 302
        self.cookie = cookie.split(";", 1)[0]
        if "/login/code" in text:
            code = code_for(app, email)
            token = self.token("/login/code")
            status, _, cookie = self.request(
                "POST", "/login/code", {"csrf_token": token, "code": code}
            )
            assert status == 302
            self.cookie = cookie.split(";", 1)[0]


def test_simultaneous_overlapping_bookings_only_one_wins(server):
    app, live, ids = server
    client = Browser(live.url)
    client.sign_in(ids["desk"])
    token = client.token("/schedule/book")
    barrier = threading.Barrier(REQUESTS)
    results: list[int] = []
    lock = threading.Lock()

    def attempt(index: int) -> None:
        form = {
            "csrf_token": token,
            "patient_mrn": ids["mrns"][index],
            "kind": "follow_up",
            "provider": str(ids["provider"]),
            "room": "0",
            "day": "2031-06-02",
            "start": f"10:{(index % 6) * 5:02d}",  # every pair of these 30-minute visits overlaps
        }
        barrier.wait()
        status, _, _ = client.request("POST", "/schedule/book", form)
        with lock:
            results.append(status)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == REQUESTS
    assert results.count(302) == 1, results
    assert results.count(409) == REQUESTS - 1, results
    with app.app_context():
        day_start = datetime(2031, 6, 2, tzinfo=UTC)
        booked = db.session.scalar(
            sa.select(sa.func.count(Appointment.id)).where(
                Appointment.provider_id == ids["provider"],
                Appointment.starts_at >= day_start,
                Appointment.status == Status.BOOKED,
            )
        )
        assert booked == 1
        desk = db.session.scalar(sa.select(User).where(User.email == ids["desk"]))
        assert desk is not None
        db.session.remove()
