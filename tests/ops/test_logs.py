"""Logs an operator can use and a privacy officer can accept: request ids, one structured line
per request, and no password, token, search term, note text or SQL parameter, ever."""

from __future__ import annotations

import io
import json
import logging
import secrets
from datetime import timedelta
from typing import ClassVar

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from clinic.auth.models import Role, User
from clinic.logs import GunicornLogger, JsonFormatter, redact_path
from tests import factories
from tests.journeys.records import collected_journey


@pytest.fixture
def captured_logs():
    """Everything logged at production's level, SQL statements too, as JSON lines."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    root, sql = logging.getLogger(), logging.getLogger("sqlalchemy.engine")
    levels = root.level, sql.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)  # production level
    sql.setLevel(logging.INFO)  # statements and their (hidden) parameters
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(levels[0])
        sql.setLevel(levels[1])


def test_a_flow_full_of_secrets_leaves_none_in_the_logs(captured_logs, client, db, login):
    journey, provider = collected_journey()
    search_term = "Quillfeather"
    factories.PatientFactory(family_name=search_term)
    link_token = secrets.token_urlsafe(32)
    note_text = "Confided: worried about the Zanzibar trip"

    login(Role.PROVIDER, user=provider)  # the password goes through the sign-in form
    client.get(f"/patients/?q={search_term}")
    client.get(f"/clinical/patients?q={search_term}")
    stage = journey.evaluation.id
    client.post_form(
        f"/clinical/journeys/{journey.id}/stages/{stage}/notes",
        {"body": note_text},
        token_from=f"/clinical/journeys/{journey.id}/stages/{stage}",
    )
    client.post("/logout")
    client.get(f"/portal/link/{link_token}")
    client.get(f"/feed/{link_token}.ics")
    _log_a_database_error_carrying(db, "leaky.person@example.org")

    logs = captured_logs.getvalue()
    for secret in (factories.PASSWORD, search_term, link_token, note_text, "leaky.person"):
        assert secret not in logs, f"{secret!r} reached the logs"
    assert "SQL parameters hidden" in logs  # SQL was logged, its values were not
    lines = [json.loads(line) for line in logs.splitlines()]
    requests = [line for line in lines if line["message"] == "request"]
    assert {"journeys.add_note", "patients.search", "auth.login"} <= {r["route"] for r in requests}
    note_line = next(r for r in requests if r["route"] == "journeys.add_note")
    assert note_line["user_id"] == provider.id and note_line["status"] in (200, 302)
    assert note_line["request_id"] and note_line["duration_ms"] >= 0


def _log_a_database_error_carrying(db, email: str) -> None:
    """A unique violation: PostgreSQL's own message quotes the duplicate value."""
    factories.make_user(Role.ADMIN, email=email)
    try:
        with db.session.begin_nested():
            db.session.add(User(email=email, full_name="Twin", role=Role.ADMIN, password_hash="x"))
            db.session.flush()
    except sa.exc.IntegrityError:
        logging.getLogger("clinic.test").exception("saving the account failed")
    else:
        pytest.fail("the duplicate was accepted")


def test_a_well_formed_request_id_is_kept_and_shown_on_error_pages(client, db):
    response = client.get("/no-such-page", headers={"X-Request-ID": "lb-7f3a9c21-0001"})
    assert response.status_code == 404
    assert response.headers["X-Request-ID"] == "lb-7f3a9c21-0001"
    assert "lb-7f3a9c21-0001" in response.get_data(as_text=True)


@pytest.mark.parametrize("offered", ["", "short", "<script>alert(1)</script>", "x" * 300])
def test_a_malformed_request_id_is_replaced(client, db, offered):
    response = client.get("/livez", headers={"X-Request-ID": offered})
    assert response.headers["X-Request-ID"] != offered
    assert len(response.headers["X-Request-ID"]) == 32


def test_access_log_lines_drop_query_strings_referrers_and_secret_paths():
    token = secrets.token_urlsafe(32)
    assert redact_path(f"/portal/link/{token}?next=/x") == "/portal/link/[redacted]"
    assert redact_path(f"/feed/{token}.ics") == "/feed/[redacted]"
    assert redact_path("/patients/?q=Smith") == "/patients/"

    class Response:
        status = "200 OK"
        sent = 10
        headers: ClassVar = [("X-Request-ID", "abc")]

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": f"/portal/link/{token}",
        "RAW_URI": f"/portal/link/{token}?q=Smith",
        "QUERY_STRING": "q=Smith",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": f"https://clinic.example.com/portal/link/{token}",
        "REMOTE_ADDR": "127.0.0.1",
    }
    logger = GunicornLogger.__new__(GunicornLogger)
    logger.cfg = type("Cfg", (), {"access_log_format": "", "errorlog": "-"})()
    request = type("Req", (), {"headers": [("REFERER", environ["HTTP_REFERER"])]})()
    atoms = logger.atoms(Response(), request, environ, timedelta(0))
    logged = json.dumps({k: str(v) for k, v in atoms.items()})
    assert token not in logged and "Smith" not in logged
    assert atoms["U"] == "/portal/link/[redacted]"


def test_requests_are_counted_per_route_for_prometheus(client, db):
    def served() -> float:
        labels = {"route": "health.livez", "method": "GET", "status": "200"}
        return REGISTRY.get_sample_value("clinic_http_requests_total", labels) or 0

    before = served()
    client.get("/livez")
    assert served() == before + 1
    assert REGISTRY.get_sample_value(
        "clinic_http_request_duration_seconds_count", {"route": "health.livez"}
    )
    assert REGISTRY.get_sample_value("clinic_db_pool_connections_in_use") is not None


def test_gunicorns_own_lines_are_json_in_production(monkeypatch, capsys):
    """Workers booting, timeouts, a worker that cannot start: one JSON object a line, like the
    app's, when the settings log JSON (production); plain text otherwise."""
    from gunicorn.config import Config as GunicornConfig

    import config

    cfg = GunicornConfig()
    cfg.set("errorlog", "-")
    monkeypatch.setattr(config.ProductionConfig, "LOG_FORMAT", "json")
    monkeypatch.setenv("CLINIC_ENV", "production")
    logger = GunicornLogger(cfg)
    logger.info("Booting worker with pid: %s", 4242)
    try:
        raise RuntimeError("Refusing to start in production:\nSECRET_KEY must be ...")
    except RuntimeError:
        logger.exception("Exception in worker process")
    lines = capsys.readouterr().err.splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one object
    assert [e["message"] for e in entries] == [
        "Booting worker with pid: 4242",
        "Exception in worker process",
    ]
    assert entries[1]["level"] == "ERROR" and "Refusing to start" in entries[1]["exception"]

    monkeypatch.setenv("CLINIC_ENV", "development")
    GunicornLogger(cfg).info("Booting worker with pid: %s", 4243)
    assert "[INFO] Booting worker with pid: 4243" in capsys.readouterr().err
