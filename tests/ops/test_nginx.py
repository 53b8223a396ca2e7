"""Through a real nginx (deploy/nginx/clinic.conf) in front of two gunicorn instances:
HSTS, real client addresses, per-client sign-in limits shared by both instances, shared
sessions, body limits and the clinic's 413 page, slow clients buffered, clean access logs,
private metrics, static files from disk with the app's headers."""

from __future__ import annotations

import html
import re
import secrets
import socket
import sqlite3
import ssl
import time
import urllib.request
from urllib.parse import urlencode

import pytest
from flask import url_for

from clinic.limits import too_large_message
from config import BASE_DIR, Config, ProductionConfig
from tests.ops.proxy import (
    BOOTSTRAP_STATIC,
    EMAIL,
    HEADERS_SNIPPET,
    PASSWORD,
    SITE,
    Browser,
    Stack,
)
from tests.ops.settings import production_app

STATIC = BASE_DIR / "clinic" / "static"
# The security headers every response carries, whoever answers it (clinic/web.py).
SECURITY_HEADERS = (
    "Strict-Transport-Security",
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
    "Permissions-Policy",
)


@pytest.fixture(scope="module")
def stack():
    running = Stack()
    try:
        yield running.start()
    except Exception:
        print(running.logs())
        raise
    finally:
        running.stop()
        running.remove()


def audit_addresses(stack: Stack, action: str) -> set[str]:
    with sqlite3.connect(stack.database) as conn:
        rows = conn.execute("SELECT remote_addr FROM audit_event WHERE action = ?", (action,))
        return {row[0] for row in rows}


def test_https_answers_with_hsts_and_a_request_id(stack):
    response = Browser(stack, "127.0.0.2").request("GET", "/login")
    assert response.status == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert len(response.headers["X-Request-ID"]) == 32  # nginx's $request_id, passed on


def test_sign_in_limits_count_per_client_across_instances_with_real_addresses(stack):
    attacker, colleague = Browser(stack, "127.0.0.2"), Browser(stack, "127.0.0.3")
    statuses = [
        attacker.post_form("/login", {"email": f"guess{n}@x.example", "password": "nope"}).status
        for n in range(4)
    ]
    # Three failures allowed per address; the two instances share the count (Redis), so the
    # fourth is refused whichever instance nginx hands it to.
    assert statuses == [200, 200, 200, 429]
    assert colleague.post_form("/login", {"email": EMAIL, "password": PASSWORD}).status == 302
    assert audit_addresses(stack, "auth.login_failed") == {"127.0.0.2"}
    assert audit_addresses(stack, "auth.login") == {"127.0.0.3"}


def test_two_instances_share_sessions(stack):
    browser = Browser(stack, "127.0.0.4")
    assert browser.post_form("/login", {"email": EMAIL, "password": PASSWORD}).status == 302
    assert [browser.request("GET", "/front-desk").status for _ in range(4)] == [200] * 4
    for number in (0, 1):  # nginx spread the requests over both instances
        log = (stack.dir / f"gunicorn-{number}.log").read_text()
        assert '"GET /front-desk HTTP/1.0" 200' in log or '"GET /front-desk HTTP/1.1" 200' in log


def test_an_oversized_body_gets_the_clinics_413_page_from_nginx(stack, tmp_path):
    """One byte over the app's MAX_CONTENT_LENGTH: nginx refuses it with the clinic's page
    (its words, the limit, a reference, the app's headers), not its bare default; a body of
    exactly the limit still reaches the app."""
    limit = Config.MAX_CONTENT_LENGTH
    browser = Browser(stack, "127.0.0.2")
    plain = {"Content-Type": "text/plain"}
    assert browser.request("POST", "/login", body=b"x" * limit, headers=plain).status != 413
    for size in (limit + 1, 2 * limit):
        response = browser.request("POST", "/login", body=b"x" * size, headers=plain)
        assert response.status == 413
        text = " ".join(html.unescape(response.text).split())
        assert "Too much to send" in text and too_large_message(limit) in text
        assert "Request Entity Too Large" not in text and "<center>nginx" not in text
        assert f"Reference: <code>{response.headers['X-Request-ID']}</code>" in text
        assert response.headers["Cache-Control"] == "no-store"
        assert _security_headers(response) == _app_security_headers(tmp_path)


def test_nginx_body_limit_is_the_apps_and_its_page_says_so():
    """client_max_body_size in the site, MAX_CONTENT_LENGTH's default and the size named on
    nginx's 413 page are one figure."""
    found = re.search(r"client_max_body_size (\d+)([km]?);", SITE.read_text())
    assert found, "client_max_body_size is no longer in the site"
    scale = {"": 1, "k": 1024, "m": 1024 * 1024}[found.group(2)]
    assert int(found.group(1)) * scale == Config.MAX_CONTENT_LENGTH
    page = " ".join((STATIC / "too-large.html").read_text().split())
    assert too_large_message(Config.MAX_CONTENT_LENGTH) in page


def test_nginx_headers_snippet_says_what_the_app_says():
    """The headers nginx adds to what it serves itself are the app's, even where no nginx is
    installed to run the test above (a CSP changed in clinic/web.py alone fails here)."""
    from clinic.web import CSP

    snippet = HEADERS_SNIPPET.read_text()
    added = dict(re.findall(r'^add_header ([\w-]+) "?(.*?)"? always;$', snippet, re.M))
    assert set(added) == set(SECURITY_HEADERS)
    assert added["Content-Security-Policy"] == CSP
    assert added["Strict-Transport-Security"] == (
        f"max-age={ProductionConfig.HSTS_SECONDS}; includeSubDomains"
    )
    assert (added["X-Content-Type-Options"], added["X-Frame-Options"]) == ("nosniff", "DENY")


def _security_headers(response) -> dict[str, list[str]]:
    return {name: response.headers.get_all(name) for name in SECURITY_HEADERS}


def _app_security_headers(tmp_path) -> dict[str, list[str]]:
    """What the app itself sends over HTTPS with the production settings."""
    app = production_app(tmp_path)
    with app.test_client() as client:
        response = client.get("/livez", base_url="https://localhost")
        return {name: response.headers.getlist(name) for name in SECURITY_HEADERS}


def test_slow_clients_do_not_hold_the_workers(stack):
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    slow = []
    for _ in range(3):  # more slow clients than gunicorn workers (one per instance)
        sock = context.wrap_socket(socket.create_connection(("127.0.0.1", stack.https_port)))
        sock.sendall(
            b"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\nemail=a"
        )
        slow.append(sock)
    try:
        started = time.monotonic()
        response = Browser(stack, "127.0.0.5").request("GET", "/livez")
        assert response.status == 200 and time.monotonic() - started < 3
    finally:
        for sock in slow:
            sock.close()


def test_logs_hold_no_tokens_or_query_strings(stack):
    token = secrets.token_urlsafe(32)
    browser = Browser(stack, "127.0.0.6")
    browser.request("GET", f"/portal/link/{token}?q=Quillfeather")
    browser.request("GET", f"/feed/{token}.ics")
    browser.request("GET", "/patients/?q=Quillfeather")
    time.sleep(0.5)  # let nginx and gunicorn flush their lines
    logs = stack.logs()
    assert "/portal/link/[redacted]" in logs
    assert token not in logs and "Quillfeather" not in logs and PASSWORD not in logs
    assert '"route": "portal.redeem"' in logs and '"client": "127.0.0.6"' in logs


def test_metrics_are_served_on_the_private_address_only(stack):
    for _ in range(2):  # one for each instance; this one's master serves its own workers'
        Browser(stack, "127.0.0.2").request("GET", "/livez")
    url = f"http://127.0.0.1:{stack.metrics_port}/metrics"
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    assert 'clinic_http_requests_total{method="GET",route="health.livez",status="200"}' in text
    assert "clinic_db_pool_connections_in_use" in text
    assert Browser(stack, "127.0.0.2").request("GET", "/metrics").status == 404


def test_forms_work_behind_a_non_default_https_port(stack):
    """A site on https://host:PORT: the app sees the port the browser used (nginx passes
    $http_host), so the form's Referer check accepts the sign-in."""
    browser = Browser(stack, "127.0.0.7")
    host = f"localhost:{stack.https_port}"
    page = browser.request("GET", "/login", headers={"Host": host})
    token = Browser.TOKEN.search(page.text).group(1)
    body = urlencode({"email": EMAIL, "password": PASSWORD, "csrf_token": token}).encode()
    response = browser.request(
        "POST",
        "/login",
        body,
        {
            "Host": host,
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": f"https://{host}/login",
        },
    )
    assert response.status == 302 and response.headers["Location"].endswith("/front-desk")


def test_a_stopped_web_process_gets_the_clinics_unavailable_page():
    """No gunicorn answers (stopped, restarting, crashed): nginx's own 502 becomes the
    clinic's 503 page, with Retry-After and a reference that is in nginx's access log."""
    lone = Stack()  # nothing listens on its app ports
    try:
        lone.start_nginx()
        response = Browser(lone, "127.0.0.2").request("GET", "/front-desk")
        assert response.status == 503
        assert response.headers["Retry-After"] == "30"
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Server"] == "nginx"  # no version
        assert "Temporarily unavailable" in response.text and "Bad Gateway" not in response.text
        reference = response.headers["X-Request-ID"]
        assert f"Reference: <code>{reference}</code>" in response.text
        assert Browser(lone, "127.0.0.2").request("GET", "/unavailable.html").status == 404
        time.sleep(0.2)
        assert f"rid={reference}" in (lone.dir / "clinic.access.log").read_text()
    finally:
        lone.stop()
        lone.remove()


def test_static_files_are_served_from_disk_with_the_apps_headers_while_gunicorn_is_down(
    tmp_path,
):
    """/static/ and Bootstrap-Flask's /bootstrap/static/ come from disk through nginx, with
    no gunicorn: a fingerprinted URL (as the app writes it) is kept a year, a bare one is
    checked again each time, and both carry the app's security headers."""
    app = production_app(tmp_path)
    with app.test_request_context(base_url="https://localhost"):
        urls = {
            url_for("static", filename="css/app.css"): STATIC / "css" / "app.css",
            url_for("static", filename="favicon.svg"): STATIC / "favicon.svg",
            url_for("bootstrap.static", filename="css/bootstrap.min.css"): (
                BOOTSTRAP_STATIC / "css" / "bootstrap.min.css"
            ),
        }
    expected_headers = _app_security_headers(tmp_path)
    lone = Stack()  # nothing listens on its app ports
    try:
        lone.start_nginx()
        browser = Browser(lone, "127.0.0.2")
        for url, path in urls.items():
            assert re.search(r"\?v=[0-9a-f]{12}$", url), url
            response = browser.request("GET", url)
            assert response.status == 200, url
            assert response.text == path.read_text(), url
            assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            assert _security_headers(response) == expected_headers
        bare = browser.request("GET", "/static/js/app.js")
        assert bare.status == 200 and bare.headers["Cache-Control"] == "no-cache"
        assert bare.headers["Content-Type"].startswith("application/javascript")
        assert _security_headers(bare) == expected_headers
        revalidated = browser.request(
            "GET", "/static/js/app.js", headers={"If-None-Match": bare.headers["ETag"]}
        )
        assert revalidated.status == 304
        missing = browser.request("GET", "/static/nothing.css?v=0123456789ab")
        assert missing.status == 404 and "immutable" not in missing.headers.get("Cache-Control", "")
        assert browser.request("GET", "/front-desk").status == 503  # gunicorn is indeed down
    finally:
        lone.stop()
        lone.remove()
