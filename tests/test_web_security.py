"""Security defaults: headers, CSRF, cache rules, generic error pages, health check."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import url_for

from clinic.auth.models import Role
from clinic.models.audit import AuditEvent
from tests.conftest import make_test_app
from tests.databases import fresh_url


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "object-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP in tests


def test_authenticated_pages_are_not_cached(client, login):
    login(Role.ADMIN)
    assert client.get("/admin/users").headers["Cache-Control"] == "no-store"


def test_static_assets_are_served_locally_and_cacheable(client):
    html = client.get("/login").get_data(as_text=True)
    assert "cdn." not in html and "https://" not in html
    css = client.get("/bootstrap/static/css/bootstrap.min.css")
    assert css.status_code == 200
    assert css.headers.get("Cache-Control") != "no-store"
    assert client.get("/static/js/app.js").status_code == 200


def test_static_urls_carry_a_fingerprint_of_the_file(client, app):
    """Each static URL a page writes ends in ?v= and the start of the file's SHA-256, so
    nginx can let browsers keep it a year (a changed file gets a new URL); the app still
    serves it."""
    html = client.get("/login").get_data(as_text=True)
    urls = re.findall(r'(?:href|src)="(/(?:bootstrap/)?static/[^"?]+)\?v=([0-9a-f]{12})"', html)
    assert {path for path, _ in urls} >= {
        "/bootstrap/static/css/bootstrap.min.css",
        "/static/css/app.css",
        "/static/js/app.js",
    }
    folders = {
        "/static/": app.static_folder,
        "/bootstrap/static/": app.blueprints["bootstrap"].static_folder,
    }
    for path, version in urls:
        prefix = "/bootstrap/static/" if path.startswith("/bootstrap/") else "/static/"
        content = (Path(folders[prefix]) / path.removeprefix(prefix)).read_bytes()
        assert hashlib.sha256(content).hexdigest()[:12] == version, path
        assert client.get(f"{path}?v={version}").status_code == 200


def test_a_static_url_follows_its_file_when_it_changes(app, tmp_path, monkeypatch):
    target = tmp_path / "note.css"
    target.write_text("p { color: black }")
    monkeypatch.setattr(app, "static_folder", str(tmp_path))
    with app.test_request_context():
        first = url_for("static", filename="note.css")
        target.write_text("p { color: navy }")
        os.utime(target, ns=(1, 1))
        second = url_for("static", filename="note.css")
        missing = url_for("static", filename="none.css")
    assert first != second and second.startswith("/static/note.css?v=")
    assert missing == "/static/none.css"


def test_no_inline_scripts_in_pages(client, login):
    login(Role.ADMIN)
    for page in ("/admin/users", "/admin/audit", "/account"):
        html = client.get(page).get_data(as_text=True)
        assert "<script>" not in html and "onclick=" not in html and "onsubmit=" not in html


def test_hsts_over_https_in_production(tmp_path):
    from tests.ops.settings import production_app

    app = production_app(tmp_path)
    response = app.test_client().get("/login", base_url="https://clinic.example.com")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_production_refuses_to_start_without_secret_key():
    from clinic import create_app
    from config import ProductionConfig

    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(type("P", (ProductionConfig,), {"SECRET_KEY": None}))


def test_post_without_csrf_token_is_refused(client, login, make_user):
    login(Role.ADMIN)
    target = make_user(Role.PROVIDER)
    response = client.post(f"/admin/users/{target.id}/deactivate")
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    assert client.post("/logout").status_code == 400


def test_login_without_csrf_token_is_refused(client, make_user):
    user = make_user(Role.ADMIN)
    response = client.post("/login", data={"email": user.email, "password": "x"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"


def test_forbidden_page_is_generic_and_audited(client, login, db):
    user = login(Role.PATIENT)
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert "Not available to you" in response.get_data(as_text=True)
    denied = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "access.denied")
    ).one()
    assert denied.actor_id == user.id
    assert denied.detail == "GET /admin/users"


def test_not_found_page_is_generic(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "There is no page at this address." in response.get_data(as_text=True)


def test_server_error_page_has_no_traceback():
    app = make_test_app(fresh_url("sqlite", "errors"), PROPAGATE_EXCEPTIONS=False)

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals SELECT * FROM patient")

    response = app.test_client().get("/boom")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong" in html
    assert "Traceback" not in html and "SELECT" not in html and "secret" not in html


def test_unknown_sort_parameter_is_a_400(client, login):
    login(Role.ADMIN)
    assert client.get("/admin/users?sort=password_hash").status_code == 400
    assert client.get("/admin/users?show=everything").status_code == 400


def test_healthz_reports_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_unreachable_database(tmp_path):
    app = make_test_app(f"sqlite:///{tmp_path}/missing/dir/x.db")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"
