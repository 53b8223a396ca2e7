"""The audit export served by the real app (real commits, a real server): every row arrives."""

from __future__ import annotations

import csv
import io

import flask_migrate
import pytest

from clinic.auth.models import Role
from clinic.extensions import db
from clinic.models import audit
from tests.conftest import make_test_app
from tests.databases import fresh_url
from tests.factories import make_user
from tests.live import LiveServer
from tests.scheduling.test_concurrency import Browser

ROWS = 30


@pytest.fixture(scope="module")
def server(db_kind):
    app = make_test_app(fresh_url(db_kind, "export"))
    with app.app_context():
        flask_migrate.upgrade()
        admin = make_user(Role.ADMIN)
        for number in range(ROWS):
            audit.record("test.export_row", detail=f"row {number}")
        db.session.commit()
        email = admin.email
    with LiveServer(app) as live:
        yield app, live, email
    with app.app_context():
        db.engine.dispose()


def test_the_audit_export_streams_every_row_after_the_requests_commit(server):
    """The view's transaction commits before the rows are written out: the rows must not be
    records that need their session then (they were cut off after the header)."""
    app, live, email = server
    browser = Browser(live.url)
    browser.sign_in(email, app)
    status, body, _ = browser.request("GET", "/admin/audit/export.csv?action=test.export_row")
    assert status == 200
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "when"
    assert sorted(r[-1] for r in rows[1:]) == sorted(f"row {n}" for n in range(ROWS))
