"""Browser tests: the real app served on a local port, driven by Playwright in Debian's Chromium.

They are skipped when Chromium or Playwright is missing, unless REQUIRE_BROWSER_TESTS=1
(as in CI), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import flask_migrate
import pytest

from tests.conftest import make_test_app
from tests.databases import fresh_url
from tests.live import LiveServer

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _browser_missing_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (make test installs it)"
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="session")
def browser():
    reason = _browser_missing_reason()
    if reason:
        if os.environ.get("REQUIRE_BROWSER_TESTS") == "1":
            pytest.fail(f"browser tests are required here: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def live_app(db_kind: str):
    """An app on its own database with real commits, loaded with the demo data."""
    app = make_test_app(fresh_url(db_kind, "live"))
    with app.app_context():
        flask_migrate.upgrade()
        from clinic.demo import load_demo_data
        from clinic.extensions import db

        load_demo_data()
        db.session.commit()
    yield app
    with app.app_context():
        from clinic.extensions import db

        db.engine.dispose()


@pytest.fixture(scope="module")
def live_server(live_app):
    from clinic.extensions import limiter

    with live_app.app_context():
        limiter.reset()
    with LiveServer(live_app) as server:
        yield server


@pytest.fixture
def page(browser, live_server, request):
    """A fresh browser context; console errors (CSP refusals included) fail the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.base_url = live_server.url
    yield tab
    context.close()
    assert errors == [], f"browser console errors: {errors}"


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page, email: str, password: str) -> None:
    page.goto(page.base_url + "/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
